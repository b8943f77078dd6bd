import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { eventually } from "../support/eventually.js";
import { KeypoolProcess, healthOf } from "../support/redis-keypool.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** A `keypool serve` process: its JSON log lines as they come, and its exit code and stderr. */
interface Serve {
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; stderr: string }>;
}

/** Starts `keypool serve` (killed after 20 s at the latest: every run here is expected to end by itself). */
function serve(args: readonly string[]): Serve {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", "--host", "127.0.0.1", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, stderr });
    }),
  );
  return { lines, exited };
}

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. The Redis settings process test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let redis: RedisServer;
  const servers: KeypoolProcess[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start({ appendonly: true });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await redis?.dispose();
  });

  describe("keypool serve --store redis: the pool's settings", () => {
    test("a server with other flags refuses to start; --redis-update-settings changes them for every server", async () => {
      const pool = { redisUrl: redis.url, pool: "settings", blockTtl: "60s", keepaliveTtl: "5m" };
      const a = await KeypoolProcess.start(pool, servers);
      await healthOf([a], "SERVING");

      const refused = await serve(["--store", "redis", "--redis-url", redis.url, "--pool", "settings", "--block-ttl", "30s", "--keepalive-ttl", "5m"]).exited;
      expect(refused).toEqual({
        code: 2,
        stderr: "keypool: redis pool 'settings' has --block-ttl 1m but this server was started with --block-ttl 30s; " +
          "start with the pool's settings or change them with --redis-update-settings\n",
      });

      const b = await KeypoolProcess.start({ ...pool, blockTtl: "30s", extraArgs: ["--redis-update-settings"] }, servers);
      await healthOf([b], "SERVING");
      for (const server of [a, b]) {
        const stats = await server.client.getPoolStats({});
        expect(durationMs(stats.blockTtl!)).toBe(30_000);
      }
      expect([a.running, a.errors, b.errors]).toEqual([true, [], []]);
    }, 60_000);

    test("Redis down at start: the server starts NOT_SERVING, and exits 2 with the same line once Redis shows other settings", async () => {
      const pool = { redisUrl: redis.url, pool: "late", blockTtl: "60s", keepaliveTtl: "5m" };
      const first = await KeypoolProcess.start(pool, servers);
      await healthOf([first], "SERVING");
      await first.kill();
      await redis.stop();
      const late = serve(["--store", "redis", "--redis-url", redis.url, "--pool", "late", "--block-ttl", "60s", "--keepalive-ttl", "10m"]);
      // It serves (UNAVAILABLE) after waiting 5 s for Redis, and says it could not check the settings.
      await eventually(() => late.lines.some((l) => l.store === "redis"), "the start-up store line", { limitMs: 15_000 });
      expect(late.lines.find((l) => l.store === "redis")).toMatchObject({ settings: "not checked yet: Redis was not reachable at start" });
      await redis.start();
      expect(await late.exited).toEqual({
        code: 2,
        stderr: "keypool: redis pool 'late' has --keepalive-ttl 5m but this server was started with --keepalive-ttl 10m; " +
          "start with the pool's settings or change them with --redis-update-settings\n",
      });
    }, 60_000);
  });
}
