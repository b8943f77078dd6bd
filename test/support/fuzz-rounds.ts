import { durationFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import type { KeyInfo as WireKeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo } from "../../src/pool/index.js";
import { wellFormedLease } from "./fuzz-arbitraries.js";
import { checkOutcome, ContractViolation, outcomeOf } from "./fuzz-calls.js";
import type { Tally } from "./fuzz-calls.js";
import type { FuzzServer } from "./fuzz-harness.js";
import { checkInfo, expectedCodes } from "./fuzz-key-ops.js";
import type { FuzzModel } from "./fuzz-model.js";
import { importOps, listing } from "./fuzz-pool-steps.js";
import type { ImportOp, Listing } from "./fuzz-pool-steps.js";

/** Clock steps that land on, just before and just after the block (60 s) and life (5 min) deadlines. */
const STEPS = [0, 0, 1, 999, 30_000, 59_999, 60_000, 60_001, 120_000, 299_999, 300_000, 300_001];

type LeaseChoice = "none" | "current" | "stale" | "foreign";

/** A call on one known key; `foreign` is the lease id used when no stale one exists. */
interface KeyOp {
  readonly method: "ReleaseKey" | "DeleteKey" | "KeepAliveKey" | "GetKey";
  readonly pick: number;
  readonly lease: LeaseChoice;
  readonly foreign: string;
}

/** One round of valid operations: a clock step, then generates, imports, acquires, key ops, counts and a listing. */
export interface Round {
  readonly advance: number;
  readonly counts: readonly number[];
  readonly waits: readonly number[];
  readonly ops: readonly KeyOp[];
  readonly stats: number;
  readonly imports: readonly ImportOp[];
  readonly listing: Listing | null;
}

/** Rounds whose counts, waits and picks straddle every documented bound. */
export const round: fc.Arbitrary<Round> = fc.record({
  advance: fc.constantFrom(...STEPS),
  counts: fc.array(fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 20 }) },
    { weight: 1, arbitrary: fc.integer({ min: 21, max: 1_000 }) },
    { weight: 6, arbitrary: fc.oneof(fc.constant(1_001), fc.integer({ min: 1_001, max: 0xffffffff })) },
  ), { minLength: 15, maxLength: 35 }),
  waits: fc.array(fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 15 }) },
    { weight: 2, arbitrary: fc.oneof(fc.constant(300_001), fc.integer({ min: 300_001, max: 1e12 }), fc.integer({ min: -1e9, max: -1 })) },
  ), { minLength: 20, maxLength: 40 }),
  ops: fc.array(fc.record({
    method: fc.constantFrom("ReleaseKey" as const, "DeleteKey" as const, "KeepAliveKey" as const, "GetKey" as const),
    pick: fc.nat(),
    lease: fc.constantFrom<LeaseChoice>("none", "current", "stale", "foreign"),
    foreign: wellFormedLease,
  }), { minLength: 30, maxLength: 50 }),
  stats: fc.integer({ min: 15, max: 35 }),
  imports: importOps,
  listing,
});

const S = grpc.status;

/**
 * Concurrent GenerateKeys: counts over 1000 are INVALID_ARGUMENT; the others either all fit or
 * fail in a way some serial order explains (a failed one did not fit in what the successful
 * ones left). The successful ones' keys join the model.
 */
export async function generateStep(t: FuzzServer, fm: FuzzModel, counts: readonly number[], tally: Tally): Promise<void> {
  const now = t.clock.now();
  const outcomes = await Promise.all(counts.map((count) => outcomeOf(t.client.generateKeys({ count }))));
  tally.add("GenerateKeys", counts.length);
  const room = fm.settings.maxKeys - fm.model.stats(now).total;
  const made = outcomes.reduce((n, o) => n + (o.value?.keys.length ?? 0), 0);
  outcomes.forEach((o, i) => {
    const count = counts[i]!;
    const what = `GenerateKeys{count: ${count}}`;
    checkOutcome(o, count > 1000 ? [S.INVALID_ARGUMENT] : [S.OK, S.RESOURCE_EXHAUSTED], what);
    const n = Math.max(1, count);
    if (o.code === S.OK && o.value!.keys.length !== n) throw new ContractViolation(`${what}: made ${o.value!.keys.length} keys`);
    if (o.code === S.RESOURCE_EXHAUSTED && n <= room - made) {
      throw new ContractViolation(`${what}: RESOURCE_EXHAUSTED with room for ${room - made} more`);
    }
  });
  if (made > room) throw new ContractViolation(`GenerateKeys made ${made} keys with room for ${room}`);
  for (const o of outcomes) if (o.value) fm.generated(o.value.keys, now);
}

/**
 * Concurrent AcquireKey with waits: out-of-range waits are INVALID_ARGUMENT; of the rest, exactly
 * as many succeed as there were free keys (nothing frees keys meanwhile), each a distinct free key.
 */
export async function acquireStep(
  t: FuzzServer, fm: FuzzModel, waits: readonly number[], leases: Map<string, string[]>, tally: Tally,
): Promise<void> {
  const now = t.clock.now();
  const free = fm.model.stats(now).free;
  const outcomes = await Promise.all(waits.map((ms) => outcomeOf(t.client.acquireKey({ wait: ms === 0 ? undefined : durationFromMs(ms) }))));
  tally.add("AcquireKey", waits.length);
  let valid = 0;
  outcomes.forEach((o, i) => {
    const ms = waits[i]!;
    const ok = ms >= 0 && ms <= 300_000;
    valid += ok ? 1 : 0;
    checkOutcome(o, ok ? [S.OK, S.NOT_FOUND] : [S.INVALID_ARGUMENT], `AcquireKey{wait: ${ms} ms}`);
    if (!o.value) return;
    fm.acquired(o.value.key, now);
    const { key, leaseId } = o.value.key!;
    leases.set(key, [...(leases.get(key) ?? []), leaseId]);
  });
  const won = outcomes.filter((o) => o.code === S.OK).length;
  if (won !== Math.min(free, valid)) throw new ContractViolation(`${won} of ${valid} acquires won with ${free} keys free`);
}

/** Concurrent key operations on distinct known keys, each checked against the model. */
export async function keyOpsStep(t: FuzzServer, fm: FuzzModel, ops: Round["ops"], leases: Map<string, string[]>, tally: Tally): Promise<void> {
  const now = t.clock.now();
  const used = new Set<string>();
  const live = fm.liveKeys(now);
  await Promise.all(ops.map(async ({ method, pick, lease, foreign }) => {
    // Mostly live keys; the rest from everything ever made (deleted and dead ones too).
    const from = pick % 10 < 7 && live.length > 0 ? live : fm.known;
    const key = from[Math.floor(pick / 10) % from.length]!;
    if (used.has(key)) return;
    used.add(key);
    const issued = leases.get(key) ?? [];
    const current = fm.model.get(key, now);
    const currentLease = "ok" in current ? current.ok.leaseId : undefined;
    const leaseId = { none: "", current: currentLease ?? "", stale: issued.find((l) => l !== currentLease) ?? foreign, foreign }[lease];
    const expected =
      method === "ReleaseKey" ? fm.model.release(key, leaseId || undefined, now)
      : method === "DeleteKey" ? fm.model.delete(key, now)
      : method === "KeepAliveKey" ? fm.model.keepAlive(key, now)
      : fm.model.get(key, now);
    const call: Promise<{ key?: WireKeyInfo | undefined }> =
      method === "ReleaseKey" ? t.client.releaseKey({ key, leaseId })
      : method === "DeleteKey" ? t.client.deleteKey({ key }).then(() => ({ key: undefined }))
      : method === "KeepAliveKey" ? t.client.keepAliveKey({ key })
      : t.client.getKey({ key });
    const o = await outcomeOf(call);
    tally.add(method);
    const what = `${method}(a known key, lease ${lease})`;
    checkOutcome(o, expectedCodes(expected), what);
    if ("ok" in expected && expected.ok) checkInfo(o.value?.key, expected.ok as KeyInfo, what);
  }));
}

/** Concurrent GetPoolStats: every answer equals the model's counts. */
export async function statsStep(t: FuzzServer, fm: FuzzModel, n: number, tally: Tally): Promise<void> {
  const all = await Promise.all(Array.from({ length: n }, () => t.client.getPoolStats({})));
  tally.add("GetPoolStats", n);
  for (const stats of all) fm.checkStats(stats, t.clock.now());
}
