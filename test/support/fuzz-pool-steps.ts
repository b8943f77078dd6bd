import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo as WireKeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import type { Expected } from "../store/conformance/reference-model.js";
import { checkOutcome, ContractViolation, outcomeOf } from "./fuzz-calls.js";
import type { Tally } from "./fuzz-calls.js";
import type { FuzzServer } from "./fuzz-harness.js";
import { checkInfo, expectedCodes } from "./fuzz-key-ops.js";
import type { FuzzModel } from "./fuzz-model.js";

/**
 * The lifecycle fuzz's ImportKeys and ListKeys steps: imports of fresh keys (some naming a key
 * the test made before, live or long dead, or one key twice) checked against the reference
 * model, and full listings checked to hold exactly the model's keys, each once.
 */

/** One ImportKeys of a round: `count` fresh keys, the first maybe a known key, the last maybe the first again. */
export interface ImportOp {
  readonly count: number;
  readonly known: number | null;
  readonly repeat: boolean;
}

/** One full listing of a round: its page size and state filter. */
export interface Listing {
  readonly pageSize: number;
  readonly state: KeyState;
}

/** A round's imports: mostly small, some filling the pool, some past the 1,000 limit or empty. */
export const importOps: fc.Arbitrary<ImportOp[]> = fc.array(fc.record({
  count: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) },
    { weight: 1, arbitrary: fc.oneof(fc.constant(0), fc.integer({ min: 1_001, max: 1_100 })) },
    { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 100, max: 999 }), fc.constant(1_000)) },
  ),
  known: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
  repeat: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
}), { maxLength: 6 });

/** A round's listing, in about half the rounds. */
export const listing: fc.Arbitrary<Listing | null> = fc.option(fc.record({
  pageSize: fc.constantFrom(0, 64, 250, 1_000),
  state: fc.constantFrom(KeyState.UNSPECIFIED, KeyState.FREE, KeyState.BLOCKED, KeyState.COOLING),
}));

const S = grpc.status;

/** The model's verdict on an import of `keys` at `now`, refusals of the batch by itself first. */
function importVerdict(fm: FuzzModel, keys: readonly string[], now: number): Expected<number> {
  if (keys.length < 1 || keys.length > 1_000) return { code: "invalid-argument" };
  if (new Set(keys).size !== keys.length) return { code: "already-exists" };
  return fm.model.import(keys, now);
}

/**
 * Imports one after another (each verdict depends on the one before); the keys of those that
 * succeed join the model. Counts each status reached in `outcomes`.
 */
export async function importStep(
  t: FuzzServer, fm: FuzzModel, ops: readonly ImportOp[], run: number, tally: Tally, outcomes: Map<grpc.status, number>,
): Promise<void> {
  for (const [n, op] of ops.entries()) {
    const now = t.clock.now();
    const keys = Array.from({ length: op.count }, (_, i) => `sk-fuzz-${run}.${n}.${i}-lifecycle`);
    if (op.known !== null && keys.length > 0 && fm.known.length > 0) keys[0] = fm.known[op.known % fm.known.length]!;
    if (op.repeat && keys.length > 1) keys[keys.length - 1] = keys[0]!;
    const expected = importVerdict(fm, keys, now);
    const what = `ImportKeys(${keys.length} keys, ${op.known === null ? "all fresh" : "one known"}${op.repeat ? ", one twice" : ""})`;
    const o = await outcomeOf(t.client.importKeys({ keys }));
    tally.add("ImportKeys");
    outcomes.set(o.code, (outcomes.get(o.code) ?? 0) + 1);
    checkOutcome(o, expectedCodes(expected), what);
    if (o.code !== S.OK) continue;
    if (o.value!.keys.some((k, i) => k.key !== keys[i])) throw new ContractViolation(`${what}: answered other keys`);
    fm.imported(o.value!.keys, now);
  }
}

/** The wire state of a model key. */
const wireState = (state: string): KeyState =>
  state === "blocked" ? KeyState.BLOCKED : state === "cooling" ? KeyState.COOLING : KeyState.FREE;

/**
 * Lists the whole pool while nothing else runs: exactly the model's live keys in that state,
 * each once, each as the model describes it; no page larger than asked. O(pool) calls' worth.
 */
export async function listStep(t: FuzzServer, fm: FuzzModel, l: Listing | null, tally: Tally): Promise<void> {
  if (l === null) return;
  const now = t.clock.now();
  const what = `ListKeys(page_size ${l.pageSize}, state ${KeyState[l.state]})`;
  const want = new Map(fm.model.list(now).filter((k) => l.state === KeyState.UNSPECIFIED || wireState(k.state) === l.state).map((k) => [k.key, k]));
  const listed = new Set<string>();
  let pageToken = "";
  do {
    const page = await t.client.listKeys({ pageSize: l.pageSize, state: l.state, pageToken });
    tally.add("ListKeys");
    if (page.keys.length > (l.pageSize || 100)) throw new ContractViolation(`${what}: a page of ${page.keys.length} keys`);
    for (const wire of page.keys as WireKeyInfo[]) {
      const info = want.get(wire.key);
      if (!info) throw new ContractViolation(`${what}: listed a key that is not live in that state`);
      if (listed.has(wire.key)) throw new ContractViolation(`${what}: listed a key twice`);
      listed.add(wire.key);
      checkInfo(wire, info, what);
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (listed.size !== want.size) throw new ContractViolation(`${what}: listed ${listed.size} of the ${want.size} keys`);
}
