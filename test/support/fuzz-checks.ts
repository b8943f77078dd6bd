import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { expect } from "vitest";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import { LEASE_SHAPE } from "./fuzz-arbitraries.js";
import { inParallel, outcomeOf } from "./fuzz-calls.js";
import { eventually } from "./eventually.js";
import { heapAfterGc } from "./fuzz-harness.js";
import type { FuzzServer } from "./fuzz-harness.js";

/** What the test knows of one key after a fuzz run. */
export type Known =
  | { readonly gone: true }
  /** A key a cancelled DeleteKey named: gone or not, but consistent if still there. */
  | { readonly maybeGone: true }
  | { readonly gone?: false; readonly state?: KeyState; readonly leaseId?: string | undefined };

/** How much the heap may grow over a fuzz run: the pool's own growth, JIT code, slack. */
export const HEAP_SLACK_BYTES = 20 * 1024 * 1024;

/** Checks one GetKey answer against itself (a FREE key has no lease; a BLOCKED one a live lease). */
function checkConsistent(info: KeyInfo, now: number): void {
  if (info.state === KeyState.FREE) {
    expect(info.leaseId).toBe("");
    expect(info.blockedUntil).toBeUndefined();
  } else {
    expect(info.state).toBe(KeyState.BLOCKED);
    expect(info.leaseId).toMatch(LEASE_SHAPE);
    expect(timestampMs(info.blockedUntil!)).toBeGreaterThan(now);
  }
  expect(timestampMs(info.expiresAt!)).toBeGreaterThan(now);
}

/** Gone keys checked at most: an even sample when a run has deleted or outlived more. */
const GONE_SAMPLE = 1_500;

/**
 * Every live key the test knows answers GetKey consistently (and as known, where known); gone keys
 * answer NOT_FOUND (all of them, or an even sample of 1,500). O(known keys) calls.
 */
export async function checkKnownKeys(t: FuzzServer, known: ReadonlyMap<string, Known>): Promise<void> {
  const now = t.clock.now();
  const gone = [...known].filter(([, k]) => "gone" in k && k.gone);
  const step = Math.max(1, gone.length / GONE_SAMPLE);
  const sample = Array.from({ length: Math.min(gone.length, GONE_SAMPLE) }, (_, i) => gone[Math.floor(i * step)]!);
  const entries = [...[...known].filter(([, k]) => !("gone" in k && k.gone)), ...sample];
  await inParallel(entries, 64, async ([key, k]) => {
    const got = await outcomeOf(t.client.getKey({ key }));
    if ("gone" in k && k.gone) return void expect(got.code, "a deleted or dead key must answer NOT_FOUND").toBe(grpc.status.NOT_FOUND);
    if ("maybeGone" in k && got.code === grpc.status.NOT_FOUND) return;
    expect(got.code, `GetKey of a live key answered ${grpc.status[got.code]} ${got.details}`).toBe(grpc.status.OK);
    const info = got.value!.key!;
    checkConsistent(info, now);
    if ("state" in k && k.state !== undefined) {
      const until = info.blockedUntil ? `${timestampMs(info.blockedUntil) - now} ms from now` : "-";
      expect(info.state, `state of a known key (blocked until ${until})`).toBe(k.state);
    }
    if ("leaseId" in k && k.leaseId !== undefined) expect(info.leaseId).toBe(k.leaseId);
  });
}

/**
 * Counts add up, and the free keys are exactly what AcquireKey hands out: acquires until NOT_FOUND,
 * expecting `stats.free` distinct keys, none of them one the test knows is blocked or gone; then
 * releases them all again. O(free keys) calls.
 */
export async function checkCountsAndFreeKeys(t: FuzzServer, known: ReadonlyMap<string, Known>): Promise<void> {
  const stats = await t.client.getPoolStats({});
  expect(stats.total).toBe(stats.free + stats.blocked);
  const drained = new Map<string, string>();
  for (let done = false; !done; ) {
    await inParallel(Array.from({ length: 64 }), 64, async () => {
      const got = await outcomeOf(t.client.acquireKey({}));
      if (got.code === grpc.status.NOT_FOUND) return void (done = true);
      expect(got.code, `AcquireKey answered ${grpc.status[got.code]} ${got.details}`).toBe(grpc.status.OK);
      const { key, leaseId } = got.value!.key!;
      const k = known.get(key);
      expect(k && "gone" in k && k.gone, "AcquireKey handed out a deleted or dead key").not.toBe(true);
      expect(k && "state" in k && k.state, "AcquireKey handed out a key that was blocked").not.toBe(KeyState.BLOCKED);
      expect(drained.has(key), "AcquireKey handed out one key twice").toBe(false);
      drained.set(key, leaseId);
    });
  }
  expect(BigInt(drained.size)).toBe(stats.free);
  const after = await t.client.getPoolStats({});
  expect([after.free, after.blocked]).toEqual([0n, stats.total]);
  await inParallel([...drained], 64, async ([key, leaseId]) => void (await t.client.releaseKey({ key, leaseId })));
  expect(await t.client.getPoolStats({})).toMatchObject({ total: stats.total, free: stats.free, blocked: stats.blocked });
}

/** A fresh generate / get / acquire / release round trip works. */
export async function checkStillServes(t: FuzzServer): Promise<void> {
  const { keys } = await t.client.generateKeys({ count: 1 });
  expect((await t.client.getKey({ key: keys[0]!.key })).key!.state).toBe(KeyState.FREE);
  const { key } = await t.client.acquireKey({});
  expect(key!.state).toBe(KeyState.BLOCKED);
  const released = await t.client.releaseKey({ key: key!.key, leaseId: key!.leaseId });
  expect(released.key!.state).toBe(KeyState.FREE);
  await t.client.deleteKey({ key: keys[0]!.key });
}

/** What the after-run checks need from a test: what it knows, and how to let go of it. */
export interface FuzzMemory {
  /** Every key the test knows, as it must look now. */
  known(): Map<string, Known>;
  /** Drops the test's own records (models, ledgers), which are not the server's memory. */
  forget(): void;
}

/**
 * Everything a fuzz run must leave behind: no open stream or waiter, a server that still serves,
 * pool invariants that hold through the public API, and a heap back near `heapBefore` once the
 * test has let go of its own records. Resolves with the heap's growth, for the summary line.
 */
export async function checkAfterFuzz(t: FuzzServer, memory: FuzzMemory, heapBefore: number): Promise<string> {
  await eventually(() => t.server.streams.size === 0, `open KeepAlive streams to close (${t.server.streams.size} open)`);
  await eventually(() => t.server.waiters.size === 0, "waiting AcquireKey calls to end");
  await checkStillServes(t);
  const known = memory.known();
  await checkKnownKeys(t, known);
  await checkCountsAndFreeKeys(t, known);
  known.clear();
  memory.forget();
  // Closed connections give their buffers back a moment later: poll for a few seconds.
  let heapAfter = await heapAfterGc();
  for (let i = 0; i < 10 && heapAfter > heapBefore + HEAP_SLACK_BYTES; i++) {
    await new Promise((r) => setTimeout(r, 500));
    heapAfter = await heapAfterGc();
  }
  const growth = `heap ${heapAfter >= heapBefore ? "+" : ""}${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MB`;
  expect(heapAfter, growth).toBeLessThanOrEqual(heapBefore + HEAP_SLACK_BYTES);
  return growth;
}
