import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { KeypoolProcess, healthOf } from "../support/redis-keypool.js";
import { Ledger } from "../support/redis-ledger.js";
import { Load } from "../support/redis-load.js";
import { RedisServer, hasRedisServer } from "../support/redis-server.js";

const SKIP_REASON = "redis-server not on PATH: install the Debian package redis-server";
/** Short TTLs, so automatic releases and expiries happen many times during the run. */
const TTL = { blockTtl: "1s", keepaliveTtl: "2500ms" } as const;
const LEDGER = { blockTtlMs: 1_000, keepaliveTtlMs: 2_500 };
/** How long the load runs: past the keepalive TTL, so keys nobody kept alive die mid-run. */
const LOAD_MS = 5_000;
/** ... and on, on a slow machine, until `enough` happened. */
const MAX_LOAD_MS = 20_000;
/** Acquisitions through each server that make the run meaningful. */
const MIN_ACQUIRED = 100;

/** Whether the load did enough of everything: acquisitions on both servers, and each rule exercised. */
function enough(load: Load, ledger: Ledger): boolean {
  const { afterRelease, afterAutoRelease, deadRefused, deletedRefused } = ledger.counts;
  return [...load.reports.values()].every((r) => r.acquired >= MIN_ACQUIRED) && afterRelease > 0 && afterAutoRelease > 0 && deadRefused > 0 && deletedRefused > 0;
}

/** Both servers served plenty, and every rule was exercised: releases, automatic releases, expiry, deletes. */
function expectMeaningful(load: Load, ledger: Ledger): void {
  for (const [name, report] of load.reports) {
    expect(report.acquired, `acquisitions through ${name}`).toBeGreaterThanOrEqual(MIN_ACQUIRED);
    expect(report.ok, `successful calls through ${name}`).toBeGreaterThan(2 * MIN_ACQUIRED);
  }
  const { afterRelease, afterAutoRelease, deadRefused, deletedRefused } = ledger.counts;
  expect(Math.min(afterRelease, afterAutoRelease, deadRefused, deletedRefused), JSON.stringify(ledger.counts)).toBeGreaterThan(0);
}

if (!hasRedisServer()) {
  console.warn(`\n!!! ${SKIP_REASON}. The multi-server Redis test is SKIPPED. CI installs it and never skips. !!!\n`);
  test.skip(SKIP_REASON, () => {});
} else {
  let redis: RedisServer;
  const servers: KeypoolProcess[] = [];
  const loads: Load[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await Promise.all(loads.map((l) => l.stop()));
    await Promise.all(servers.map((s) => s.kill()));
    await redis?.dispose();
  });

  describe("two keypool server processes on one Redis pool", () => {
    test("under load through both, no key is ever held twice and no dead or deleted key is served", async () => {
      const options = { redisUrl: `${redis.url}/0`, pool: `multi-${process.pid}`, ...TTL };
      const [a, b] = await Promise.all([KeypoolProcess.start(options, servers), KeypoolProcess.start(options, servers)]);
      await healthOf([a, b], "SERVING");
      const ledger = new Ledger(LEDGER);
      const { keys } = await a.client.generateKeys({ count: 40 });
      ledger.generated(keys.map((k) => ({ key: k.key, expiresAt: timestampMs(k.expiresAt!) })));
      const load = new Load({
        targets: [{ name: "A", client: a.client }, { name: "B", client: b.client }],
        ledger,
        workers: 24,
        seed: 1,
        allowed: new Set(["NOT_FOUND", "FAILED_PRECONDITION"]),
      });
      loads.push(load);
      load.start();
      try {
        await load.runFor(LOAD_MS, MAX_LOAD_MS, () => enough(load, ledger));
      } finally {
        await load.stop();
      }

      console.info(`redis multi-server load: ${JSON.stringify({ ...Object.fromEntries(load.reports), ledger: ledger.counts })}`);
      expect(ledger.violations).toEqual([]);
      expect(load.unexpected).toEqual([]);
      expectMeaningful(load, ledger);
      // Both servers read one pool (a key may die between the two reads).
      const [statsA, statsB] = await Promise.all([a.client.getPoolStats({}), b.client.getPoolStats({})]);
      expect(Math.abs(Number(statsB.total - statsA.total))).toBeLessThanOrEqual(2);
      for (const server of [a, b]) {
        expect(server.running).toBe(true);
        expect(server.errors).toEqual([]);
      }
    }, 40_000);
  });
}
