import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { MAX_SERVICE_NAME_LENGTH } from "../../src/server/health.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { eventually } from "../support/eventually.js";
import { healthClient } from "../support/health-client.js";
import { TEST_TTLS, startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
afterEach(() => t.close());

/** A unique service name of the longest length health accepts. */
const longName = (i: number): string => `svc-${i}-`.padEnd(MAX_SERVICE_NAME_LENGTH, "x");

describe("health Watch under attack", () => {
  it("refuses Watch streams past --max-health-watches and admits new ones once others are cancelled", async () => {
    t = await startTestServer({ server: { limits: { maxHealthWatches: 3 } } });
    const client = healthClient(t.address);
    const open = [0, 1, 2].map((i) => client.watch(longName(i)));
    await Promise.all(open.map((w) => w.next(1)));
    const refused = client.watch("");
    expect(await refused.ended).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: "3 health Watch streams are open (limit --max-health-watches); use Check, or one Watch per client",
    });
    for (const w of open) w.call.cancel();
    await eventually(() => t.server.health.openWatches === 0, "cancelled watchers to be forgotten");
    const again = [0, 1, 2].map(() => client.watch("keypool.v1.KeyService"));
    await Promise.all(again.map((w) => w.next(1)));
    expect(again.map((w) => w.seen)).toEqual([["SERVING"], ["SERVING"], ["SERVING"]]);
    for (const w of again) w.call.cancel();
    client.close();
  });

  it("forgets every cancelled watcher, whatever its service name (no per-name entry left behind)", async () => {
    t = await startTestServer();
    const client = healthClient(t.address);
    for (let round = 0; round < 4; round++) {
      const watches = Array.from({ length: 50 }, (_, i) => client.watch(longName(round * 50 + i)));
      await Promise.all(watches.map((w) => w.next(1)));
      expect(t.server.health.openWatches).toBe(50);
      expect(watches.every((w) => w.seen[0] === "SERVICE_UNKNOWN")).toBe(true);
      for (const w of watches) w.call.cancel();
      await eventually(() => t.server.health.openWatches === 0, "cancelled watchers to be forgotten");
    }
    client.close();
  });

  it("Check answers NOT_FOUND for an unknown service; names past the limit are INVALID_ARGUMENT, for Watch too", async () => {
    t = await startTestServer();
    const client = healthClient(t.address);
    const unknown = (await client.check("no.such.Service").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(unknown).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'unknown service "no.such.Service"; ask for "" or "keypool.v1.KeyService"' });
    const huge = "x".repeat(30_000);
    const tooLong = (await client.check(huge).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(tooLong).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: `service names are at most ${MAX_SERVICE_NAME_LENGTH} characters (got 30000)` });
    expect((await client.watch(huge).ended).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(t.server.health.openWatches).toBe(0);
    expect(await client.check("")).toBe("SERVING");
    client.close();
  });
});

describe("store transitions in the log", () => {
  it("logs the loss and the recovery of the store once per transition", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => done(void lines.push(JSON.parse(chunk.toString()))) });
    const clock = new ManualClock();
    const store = EmbeddedStore.memory({ ...TEST_TTLS, maxKeys: 100, scheduler: new ManualScheduler(clock), random: seededRandom(1) });
    let serving = true;
    const listeners = new Set<(s: boolean) => void>();
    Object.assign(store, {
      isServing: () => serving,
      onServingChange: (l: (s: boolean) => void) => (listeners.add(l), () => listeners.delete(l)),
    });
    const flip = (s: boolean): void => {
      serving = s;
      for (const l of listeners) l(s);
    };
    t = await startTestServer({ store, clock, server: { log: pino({ level: "info" }, sink) } });
    flip(false);
    flip(false); // a repeated notice of the same state is no transition
    flip(true);
    flip(true);
    const transitions = lines.filter((l) => String(l.msg).startsWith("the store"));
    expect(transitions.map((l) => [l.level, l.store, l.msg])).toEqual([
      [40, "memory", "the store cannot serve (unreachable or failed): health NOT_SERVING, calls answer UNAVAILABLE"],
      [30, "memory", "the store serves again: health SERVING"],
    ]);
  });
});
