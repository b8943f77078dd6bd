import { execFileSync } from "node:child_process";
import { mkdirSync, rmdirSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { DataDirFixture, makeTempDir, removeDir } from "../support/durable-dirs.js";
import { healthClient } from "../support/health-client.js";
import { collect, killAll, logLine, spawnKeypool } from "../support/serve-process.js";
import type { KeypoolProcess } from "../support/serve-process.js";

// Issue 15, item 5: a full disk made lmdb-js reject a promise nobody handled (the one that starts
// each event turn's batch of writes) and the server died ("Connection dropped"). Fail-stop is the
// promise: UNAVAILABLE and NOT_SERVING, no crash, nothing acknowledged that is not on disk.

/** Mounts a tmpfs of `mb` MiB on a fresh dir; undefined where this machine cannot (not root, no CAP_SYS_ADMIN). */
function mountTmpfs(mb: number): string | undefined {
  const dir = `/tmp/keypool-disk-full-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mb}m`, "tmpfs", dir], { stdio: "ignore" });
    return dir;
  } catch {
    rmdirSync(dir);
    return undefined;
  }
}

const UNHANDLED: unknown[] = [];
const onUnhandled = (reason: unknown): void => void UNHANDLED.push(reason);

describe("DurableStore on a full disk (a 2 MiB tmpfs)", () => {
  let mount: string | undefined;
  let fx: DataDirFixture | undefined;
  beforeAll(() => {
    mount = mountTmpfs(2);
    if (!mount) console.warn("\n!!! durable-disk-full: SKIPPED the tmpfs test: this machine cannot mount a tmpfs (run as root to cover it) !!!\n");
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(async () => fx?.dispose());
  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    if (mount) execFileSync("umount", ["-l", mount]);
    if (mount) rmdirSync(mount);
  });

  test("fills the disk: UNAVAILABLE naming the dir, NOT_SERVING, no unhandled rejection; once space is back a restart has every acknowledged key", async ({ skip }) => {
    if (!mount) return skip("cannot mount a tmpfs here");
    fx = new DataDirFixture(`${mount}/data`);
    const store = await fx.reopen({ maxKeys: 1_000_000 });
    const serving: boolean[] = [];
    store.onServingChange((s) => serving.push(s));
    const acked: string[] = [];
    let failure: unknown;
    // 300 keys a call: one event turn's batch, below lmdb-js's 1,000-write split (whose batch
    // start promise is handed to the next write and so was never orphaned).
    for (let i = 0; i < 1_000 && failure === undefined; i++) {
      await store.generate(300).then((keys) => acked.push(...keys.map((k) => k.key)), (err: unknown) => (failure = err));
    }
    expect(failure).toBeInstanceOf(KeyPoolError);
    expect((failure as KeyPoolError).code).toBe("unavailable");
    expect((failure as Error).message).toContain(`${mount}/data`);
    await expect(store.acquire()).rejects.toMatchObject({ code: "unavailable" });
    await new Promise((resolve) => setImmediate(resolve)); // an unhandled rejection is reported after the turn
    expect(UNHANDLED).toEqual([]);
    expect(store.isServing()).toBe(false);
    expect(serving).toEqual([false]);

    await store.close();
    execFileSync("mount", ["-o", "remount,size=16m", mount]);
    const again = await fx.reopen({ maxKeys: 1_000_000 });
    expect((await again.stats()).total).toBeGreaterThanOrEqual(acked.length);
    for (const key of acked) expect((await again.get(key)).key).toBe(key);
    await again.generate(300);
    expect(UNHANDLED).toEqual([]);
  });
});

/** `keypool serve` from source; with `fileLimitKb`, under `ulimit -f` (a write past it fails with EFBIG, as on a full disk). */
function serve(dir: string, fileLimitKb?: number): KeypoolProcess {
  const node = [process.execPath, "--import", "tsx", new URL("../../src/cli/main.ts", import.meta.url).pathname];
  const command = fileLimitKb === undefined ? node : ["sh", "-c", `ulimit -f ${fileLimitKb} && exec "$@"`, "sh", ...node];
  return spawnKeypool(["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dir, "--max-keys", "1000000"], { command });
}

/** Every key of `keys` the server holds, checked 1,000 a request over one KeepAlive stream. */
async function held(client: TypedClient<typeof KeyService>, keys: readonly string[]): Promise<number> {
  const stream = client.keepAlive();
  let found = 0;
  for (let i = 0; i < keys.length; i += 1_000) {
    const answer = new Promise<{ results: { found: boolean }[] }>((resolve) => stream.once("data", resolve));
    stream.write({ keys: keys.slice(i, i + 1_000) });
    found += (await answer).results.filter((r) => r.found).length;
  }
  stream.end();
  return found;
}

describe("keypool serve --data-dir whose writes fail (a real process, ulimit -f 1 MiB)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir("disk-full");
  });
  afterEach(killAll);
  afterAll(() => removeDir(dir));

  test("UNAVAILABLE naming the dir, health NOT_SERVING, the process stays up and exits 0 on SIGTERM; a restart without the limit serves every acknowledged key", async () => {
    const server = serve(dir, 1024);
    const stderr = collect(server.child.stderr);
    const address = `127.0.0.1:${(await logLine(server.child)).port as number}`;
    const client = createTypedClient(KeyService, address);
    const health = healthClient(address);
    const acked: string[] = [];
    let failure: grpc.ServiceError | undefined;
    try {
      for (let i = 0; i < 1_000 && !failure; i++) {
        await client.generateKeys({ count: 300 }).then((r) => acked.push(...r.keys.map((k) => k.key)), (e: grpc.ServiceError) => (failure = e));
      }
      expect(failure?.code, failure?.details).toBe(grpc.status.UNAVAILABLE);
      expect(failure?.details).toContain(`the data dir ${dir} failed`);
      // Still up and still answering (a crash answers "Connection dropped", then nothing at all).
      const again = await client.acquireKey({}).catch((e: grpc.ServiceError) => e);
      expect((again as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
      expect(await health.check("")).toBe("NOT_SERVING");
      expect(server.child.exitCode).toBeNull();
      server.child.kill("SIGTERM");
      expect(await server.exited, stderr.text).toBe(0);
    } finally {
      client.close();
      health.close();
    }
    expect(acked.length).toBeGreaterThan(0);

    const restarted = serve(dir);
    const address2 = `127.0.0.1:${(await logLine(restarted.child)).port as number}`;
    const client2 = createTypedClient(KeyService, address2);
    try {
      expect(await held(client2, acked)).toBe(acked.length);
      expect((await client2.generateKeys({ count: 300 })).keys).toHaveLength(300);
    } finally {
      client2.close();
    }
  }, 60_000);
});
