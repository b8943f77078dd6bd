/**
 * Compares embedded engines for the durable store: group-committed durable write throughput and
 * recovery (open + read every record) time. Each engine stores the store's own 49-byte records.
 *
 *   npm install --no-save better-sqlite3@12.11.1   # the contender; not a dependency of keypool
 *   npx tsx bench/durable-engines.ts [--keys 1000000] [--seconds 3] [--only lmdb-sync,...]
 *     [--sqlite PATH]   # where to load better-sqlite3 from, if not from node_modules
 *
 * Writes go to a temp dir on the same disk as /tmp; every variant fsyncs before a write resolves,
 * except `sqlite-normal`, shown only to price what synchronous=FULL buys. `--only store` measures
 * the durable EmbeddedStore itself: `--keys` keys (a tenth of them blocked) written through it, then one
 * timed `EmbeddedStore.open` (the whole recovery: checks, scan, restore, durable floor).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { open } from "lmdb";
import { backgroundScheduler } from "../src/scheduler.js";
import { systemRandom } from "../src/random.js";
import { encodeRecord } from "../src/store/durable/record-codec.js";
import { EmbeddedStore } from "../src/store/embedded-store.js";

/** What the benchmark needs of one engine. */
interface Engine {
  /** A durable upsert: resolves once the write is on disk; returns its commit group. */
  write(key: string, value: Buffer): { group: unknown; done: Promise<unknown> };
  bulkLoad(records: readonly [string, Buffer][]): Promise<void>;
  /** Reads every record; returns how many. */
  scan(): number;
  close(): Promise<void>;
}
type EngineMaker = (dir: string) => Promise<Engine>;

const lmdbEngine = (overlappingSync: boolean): EngineMaker => async (dir) => {
  const db = open<Buffer, string>({
    path: dir, noSubdir: false, encoding: "binary", compression: false, cache: false,
    overlappingSync, separateFlushed: overlappingSync,
  });
  return {
    write(key, value) {
      const p = db.put(key, value) as Promise<boolean> & { flushed?: Promise<void> };
      const done = overlappingSync ? p.flushed! : p;
      return { group: done, done };
    },
    async bulkLoad(records) {
      for (let i = 0; i < records.length; i += 100_000) {
        db.transactionSync(() => records.slice(i, i + 100_000).forEach(([k, v]) => db.putSync(k, v)));
      }
      await db.flushed;
    },
    scan() {
      let n = 0;
      for (const { value } of db.getRange()) if (value.length > 0) n++;
      return n;
    },
    close: () => db.close(),
  };
};

/** The slice of the better-sqlite3 API used here (it is loaded at run time, untyped). */
interface SqliteStatement { run(...args: unknown[]): unknown; raw(): { iterate(): Iterable<unknown[]> } }
interface SqliteDb {
  pragma(sql: string): unknown;
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
  transaction(fn: (rows: readonly [string, Buffer][]) => void): (rows: readonly [string, Buffer][]) => void;
  close(): void;
}

let sqliteModule = "better-sqlite3";

const sqliteEngine = (synchronous: "FULL" | "NORMAL"): EngineMaker => async (dir) => {
  const Database = createRequire(import.meta.url)(sqliteModule) as new (file: string) => SqliteDb;
  const db = new Database(join(dir, "keys.db"));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.exec("CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, rec BLOB NOT NULL) WITHOUT ROWID");
  const upsert = db.prepare("INSERT OR REPLACE INTO keys (key, rec) VALUES (?, ?)");
  const commit = db.transaction((rows) => rows.forEach(([k, v]) => upsert.run(k, v)));
  // Group commit: everything written during one event-loop turn shares one transaction.
  let batch: { rows: [string, Buffer][]; done: Promise<void>; resolve: () => void } | undefined;
  const flush = (): void => {
    const b = batch!;
    batch = undefined;
    commit(b.rows);
    b.resolve();
  };
  return {
    write(key, value) {
      if (!batch) {
        let resolve!: () => void;
        const done = new Promise<void>((r) => (resolve = r));
        batch = { rows: [], done, resolve };
        setImmediate(flush);
      }
      batch.rows.push([key, value]);
      return { group: batch, done: batch.done };
    },
    async bulkLoad(records) {
      for (let i = 0; i < records.length; i += 100_000) commit(records.slice(i, i + 100_000));
    },
    scan() {
      let n = 0;
      for (const row of db.prepare("SELECT key, rec FROM keys").raw().iterate()) if (row[1]) n++;
      return n;
    },
    close: async () => db.close(),
  };
};

const ENGINES: Record<string, EngineMaker> = {
  "lmdb-sync": lmdbEngine(false),
  "lmdb-overlap": lmdbEngine(true),
  "sqlite-full": sqliteEngine("FULL"),
  "sqlite-normal": sqliteEngine("NORMAL"),
};

function makeRecords(n: number): [string, Buffer][] {
  const now = Date.now();
  const out: [string, Buffer][] = [];
  for (let i = 0; i < n; i++) {
    const key = `kp_${randomBytes(18).toString("base64url")}`;
    out.push([key, encodeRecord({ key, state: "free", expiresAt: now + 300_000, createdAt: now, fencingToken: 0 })]);
  }
  return out;
}

/** `concurrency` writers each await one durable upsert at a time, for `seconds`. */
async function throughput(engine: Engine, records: readonly [string, Buffer][], concurrency: number, seconds: number) {
  const groups = new Set<unknown>();
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  // How long the event loop stalls: a synchronous fsync on the main thread stalls every request.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  let i = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const [key, value] = records[i++ % records.length]!;
      const start = performance.now();
      const { group, done } = engine.write(key, value);
      groups.add(group);
      await done;
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  lag.disable();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): string => latencies[Math.floor(latencies.length * p)]!.toFixed(2);
  return { writesPerSec: Math.round(latencies.length / seconds), commitsPerSec: Math.round(groups.size / seconds), p50: pct(0.5), p99: pct(0.99),
    loopLagP99Ms: (lag.percentile(99) / 1e6).toFixed(1), loopLagMaxMs: (lag.max / 1e6).toFixed(1) };
}

async function recovery(make: EngineMaker, dir: string, records: readonly [string, Buffer][]) {
  const loader = await make(dir);
  await loader.bulkLoad(records);
  await loader.close();
  const start = performance.now();
  const engine = await make(dir);
  const n = engine.scan();
  const ms = performance.now() - start;
  await engine.close();
  if (n !== records.length) throw new Error(`scan read ${n} of ${records.length} records`);
  return { keys: n, recoveryMs: Math.round(ms) };
}

async function storeRecovery(dir: string, keys: number): Promise<object> {
  const options = { dataDir: dir, blockTtlMs: 600_000, keepaliveTtlMs: 3_600_000, maxKeys: keys, scheduler: backgroundScheduler, random: systemRandom };
  const writer = await EmbeddedStore.open(options);
  const loadStart = performance.now();
  const lane = async (calls: number): Promise<void> => {
    for (let i = 0; i < calls; i++) await writer.generate(1000);
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => lane(Math.floor(keys / 8000) + (i < (keys / 1000) % 8 ? 1 : 0))));
  const loadMs = performance.now() - loadStart;
  for (let i = 0; i < keys / 10; i++) void writer.acquire();
  await writer.close();
  const start = performance.now();
  const store = await EmbeddedStore.open(options);
  const openMs = Math.round(performance.now() - start);
  const recovery = store.dataDir!.recovery;
  const heapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  await store.close();
  return { engine: "store", keys: recovery.keys, blocked: recovery.blocked, loadKeysPerSec: Math.round(keys / (loadMs / 1000)), openMs, recoveryMs: recovery.ms, heapMb };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { keys: { type: "string", default: "1000000" }, seconds: { type: "string", default: "3" }, only: { type: "string" },
      sqlite: { type: "string", default: sqliteModule } },
  });
  sqliteModule = values.sqlite;
  const names = values.only ? values.only.split(",") : [...Object.keys(ENGINES), "store"];
  if (names.includes("store")) {
    const dir = mkdtempSync(join(tmpdir(), "keypool-bench-store-"));
    try {
      console.log(JSON.stringify(await storeRecovery(dir, Number(values.keys))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const all = makeRecords(Number(values.keys));
  const hot = all.slice(0, 100_000);
  for (const name of names.filter((n) => n !== "store")) {
    const make = ENGINES[name];
    if (!make) throw new Error(`unknown engine ${name}; pick from ${Object.keys(ENGINES).join(", ")}`);
    const dir = mkdtempSync(join(tmpdir(), `keypool-bench-${name}-`));
    try {
      const engine = await make(dir);
      for (const c of [1, 16, 256]) {
        console.log(JSON.stringify({ engine: name, concurrency: c, ...(await throughput(engine, hot, c, Number(values.seconds))) }));
      }
      await engine.close();
      rmSync(dir, { recursive: true });
      mkdirSync(dir);
      console.log(JSON.stringify({ engine: name, ...(await recovery(make, dir, all)) }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await main();
