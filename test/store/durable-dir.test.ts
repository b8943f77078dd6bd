import { spawnSync } from "node:child_process";
import { chmod, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { open as openLmdb } from "lmdb";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { DataDirError } from "../../src/store/embedded-store.js";
import { DataDirFixture, makeTempDir } from "../support/durable-dirs.js";

/** One way to damage a data dir that held keys; `at` is the dir. */
interface DamageCase {
  readonly name: string;
  readonly damage: (at: string) => Promise<void>;
  /** What the message must say besides the path. */
  readonly says: RegExp;
}

const DAMAGE = [
  { name: "garbage in data.mdb", damage: (at) => writeFile(join(at, "data.mdb"), Buffer.alloc(70_000, 0x5a)), says: /data\.mdb is damaged: it is not an LMDB data file/ },
  { name: "data.mdb emptied", damage: (at) => truncate(join(at, "data.mdb"), 0), says: /data\.mdb is damaged/ },
  { name: "data.mdb cut in half", damage: halve, says: /data\.mdb is damaged: it is (truncated|shorter)/ },
  { name: "data.mdb deleted", damage: (at) => rm(join(at, "data.mdb")), says: /data\.mdb is missing/ },
  { name: "keypool.json garbled", damage: (at) => writeFile(join(at, "keypool.json"), "{not json"), says: /keypool\.json is damaged/ },
  { name: "a record that is not a record", damage: badRecord, says: /record of key kp_\w{4}… cannot be read/ },
  { name: "an unknown format", damage: (at) => putMeta(at, "format", 99), says: /holds format 99/ },
] satisfies DamageCase[];

async function halve(at: string): Promise<void> {
  const file = join(at, "data.mdb");
  await truncate(file, Math.floor((await stat(file)).size / 8192) * 4096);
}

async function badRecord(at: string): Promise<void> {
  const root = openLmdb({ path: at, noSubdir: false, maxDbs: 4 });
  await root.openDB<Buffer, string>({ name: "keys", encoding: "binary" }).put("kp_AAAAAAAAAAAAAAAAAAAAAAAA", Buffer.from("junk"));
  await root.close();
}

async function putMeta(at: string, name: string, value: number): Promise<void> {
  const root = openLmdb({ path: at, noSubdir: false, maxDbs: 4 });
  await root.openDB({ name: "meta" }).put(name, value);
  await root.close();
}

describe("durable store: a data dir it cannot trust fails open, loudly", () => {
  let fx: DataDirFixture;
  beforeEach(async () => {
    fx = new DataDirFixture(await makeTempDir("dir"));
  });
  afterEach(() => fx.dispose());

  test.each(DAMAGE)("$name: open rejects, naming the path and the damage; the files stay as they were", async ({ damage, says }) => {
    const store = await fx.reopen();
    await store.generate(300);
    await store.close();
    await damage(fx.dir);
    const before = await readFile(join(fx.dir, "data.mdb")).catch(() => undefined);

    const err = await fx.reopen().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as Error).message).toContain(fx.dir);
    expect((err as Error).message).toMatch(says);
    expect((err as Error).message).not.toMatch(/kp_[A-Za-z0-9_-]{24}/);
    // Never replaced by an empty pool: the damaged file is left for the operator.
    expect(await readFile(join(fx.dir, "data.mdb")).catch(() => undefined)).toEqual(before);
  });

  test("a file where the dir should be", async () => {
    const file = join(fx.dir, "not-a-dir");
    await writeFile(file, "x");
    await expect(fx.reopen({ dataDir: file })).rejects.toThrow(`data dir ${file}: is not a directory`);
    await expect(fx.reopen({ dataDir: join(file, "sub") })).rejects.toThrow(/ENOTDIR.*a part of the path is a file/);
  });

  test("a data.mdb that keypool did not make", async () => {
    await writeFile(join(fx.dir, "data.mdb"), "someone else's");
    await expect(fx.reopen()).rejects.toThrow(/holds a data\.mdb but no keypool\.json: it is not a keypool data dir/);
  });

  test.skipIf(process.getuid?.() === 0)("a dir this user may not write", async () => {
    await chmod(fx.dir, 0o500);
    try {
      await expect(fx.reopen()).rejects.toThrow(/EACCES.*permission denied/);
    } finally {
      await chmod(fx.dir, 0o700);
    }
  });

  test("a path where no directory can be made (/proc/x) is refused at once, naming it", async () => {
    const err = await fx.reopen({ dataDir: "/proc/keypool-x" }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(DataDirError);
    expect(err!.message).toMatch(/data dir \/proc\/keypool-x: cannot be used \(ENOENT\).*pick another path/);
  });

  test("one dir, one server: a second open is refused while the first runs", async () => {
    const first = await fx.reopen();
    await expect(fx.reopen()).rejects.toThrow(/already open in this process/);
    await first.close();
    await (await fx.reopen()).close();
  });

  test("a lock file nobody holds is no obstacle, whatever pid it names", async () => {
    // Left by a crash, or by a keypool that used pid files: only the kernel's lock counts.
    for (const pid of [spawnSync(process.execPath, ["-e", "0"]).pid, process.ppid, process.pid, 1]) {
      await writeFile(join(fx.dir, "keypool.lock"), `${pid}\n`);
      await (await fx.reopen()).close();
    }
  });
});
