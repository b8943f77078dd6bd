import { performance } from "node:perf_hooks";
import { redactKey } from "../../pool/index.js";
import type { KeyPool, PoolOptions } from "../../pool/index.js";
import { DATA_FILE, DataDirError } from "./data-dir.js";
import type { Journal } from "./journal.js";
import { decodeRecord } from "./record-codec.js";
import type { StoredRecord } from "./record-codec.js";

/** What a recovery found, for the start-up log line. */
export interface RecoveryReport {
  /** Live keys put back into the pool. */
  readonly keys: number;
  /** Of those, keys still blocked under their lease. */
  readonly blocked: number;
  /** Records of keys that had died while the server was up, removed from the data dir. */
  readonly dropped: number;
  /** The instant recovery judged every deadline by (ms since the epoch). */
  readonly restartedAt: number;
  /** How long recovery took, in ms. */
  readonly ms: number;
}

/**
 * Loads every record of `journal` into the empty `pool` and makes the outcome durable before
 * returning, so the server may serve the moment it resolves. Rules:
 *
 * - A key whose life ended at or before the watermark died while the server was up: its record is
 *   removed. Any other key survives, even if its life ended while the server was down.
 * - Every survivor lives until restart + keepalive TTL (the most any key could have been promised
 *   under the current TTL). That instant is persisted once as the data dir's `floor` rather than
 *   in each record: a record's life is max(record, floor).
 * - A block whose deadline passed comes back free; a block that is still running keeps its lease
 *   and deadline (cut to restart + block TTL if the block TTL was lowered).
 *
 * Throws DataDirError for an undecodable record or more live keys than `maxKeys`.
 * Cost: O(n) reads and restores, plus O(b log b) to order the b keys still blocked.
 */
export async function recover(journal: Journal, pool: KeyPool, options: PoolOptions, clockNow: number): Promise<RecoveryReport> {
  const start = performance.now();
  const { watermark, floor } = journal.readMeta();
  // Never judge deadlines by a time before one already seen (a clock set back while down).
  const now = Math.max(clockNow, watermark);
  const life = now + options.keepaliveTtlMs;
  const blocked: StoredRecord[] = [];
  const dead: string[] = [];
  let keys = 0;
  for (const { key, value } of journal.keys.getRange()) {
    const record = decodeRecord(key, value);
    if (!record) throw damagedRecord(journal.dir, key);
    if (Math.max(record.expiresAt, floor) <= watermark) {
      dead.push(key);
      continue;
    }
    if (++keys > options.maxKeys) throw overCapacity(journal.dir, options.maxKeys);
    if (record.blockedUntil > now && record.leaseId) blocked.push(record);
    else pool.restore({ key, state: "free", expiresAt: life, createdAt: record.createdAt, fencingToken: record.fencingToken }, now);
  }
  restoreBlocked(pool, blocked, now, life, now + options.blockTtlMs);
  for (const key of dead) journal.remove(key, now);
  journal.setFloor(life);
  journal.mark(now);
  await journal.barrier();
  return { keys, blocked: blocked.length, dropped: dead.length, restartedAt: now, ms: Math.round(performance.now() - start) };
}

/** Restores blocked keys in block-deadline order, which the pool's block list requires. */
function restoreBlocked(pool: KeyPool, blocked: StoredRecord[], now: number, life: number, latest: number): void {
  blocked.sort((a, b) => a.blockedUntil - b.blockedUntil);
  for (const r of blocked) {
    pool.restore({
      key: r.key,
      state: "blocked",
      leaseId: r.leaseId,
      blockedUntil: Math.min(r.blockedUntil, latest),
      expiresAt: life,
      createdAt: r.createdAt,
      fencingToken: r.fencingToken,
      acquiredAt: r.acquiredAt,
    }, now);
  }
}

function damagedRecord(dir: string, key: string): DataDirError {
  return new DataDirError(dir, `${DATA_FILE} is damaged: the record of key ${redactKey(key)} cannot be read`,
    "restore the dir from a backup, or point --data-dir at an empty directory to start over (every key is lost then)");
}

function overCapacity(dir: string, maxKeys: number): DataDirError {
  return new DataDirError(dir, `holds more live keys than --max-keys (${maxKeys})`,
    "raise --max-keys to at least the number of keys the pool held");
}
