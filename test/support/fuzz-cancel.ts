import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { KeepAliveRequestSchema } from "../../gen/keypool/v1/keypool_pb.js";
import { checkOutcome, METHODS, rawKeepAlive, rawUnary } from "./fuzz-calls.js";
import type { CancelMode, MethodName } from "./fuzz-calls.js";
import { REQUEST_SCHEMA } from "./fuzz-garbage-bytes.js";

/** One call to cancel: which method, when to cancel, which known key it names. */
export interface CancelInput {
  readonly method: MethodName;
  readonly when: Exclude<CancelMode, "none">;
  readonly pick: number;
  readonly count: number;
}

/** Every method, cancelled in the same tick, the next tick or the next turn of the event loop. */
export const cancelInput: fc.Arbitrary<CancelInput> = fc.record({
  method: fc.constantFrom(...METHODS),
  when: fc.constantFrom<CancelInput["when"]>("sync", "tick", "immediate"),
  pick: fc.nat(),
  count: fc.integer({ min: 0, max: 5 }),
});

const S = grpc.status;
/**
 * What a call that the server may have run anyway can come to. Earlier cancelled calls may have
 * deleted, blocked or released any key, so a known key's own outcome is one of several.
 */
const IF_IT_RAN: Readonly<Record<MethodName, readonly grpc.status[]>> = {
  GenerateKeys: [S.OK, S.RESOURCE_EXHAUSTED],
  AcquireKey: [S.OK, S.NOT_FOUND],
  ReleaseKey: [S.OK, S.NOT_FOUND],
  DeleteKey: [S.OK, S.NOT_FOUND],
  KeepAliveKey: [S.OK, S.NOT_FOUND],
  KeepAlive: [],
  GetKey: [S.OK, S.NOT_FOUND],
  GetPoolStats: [S.OK],
};

/**
 * Makes the call on `raw` and cancels it as `input.when` says; checks it ends CANCELLED (or, when
 * the answer won the race, with one of the codes the call could have). Returns the key it named.
 * A KeepAlive stream is never cancelled in the tick it starts (see `CancelWhen`).
 */
export async function playCancelled(raw: grpc.Client, input: CancelInput, known: readonly string[]): Promise<string | undefined> {
  const key = known[input.pick % known.length]!;
  const what = `${input.method} cancelled ${input.when}`;
  if (input.method === "KeepAlive") {
    const s = rawKeepAlive(raw);
    const body = toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys: [key, ...known.slice(0, input.count)] }));
    s.call.write(Buffer.from(body));
    if (input.when === "immediate") setImmediate(() => s.call.cancel());
    else process.nextTick(() => s.call.cancel());
    checkOutcome(await s.status, [S.CANCELLED], what);
    return key;
  }
  const schema = REQUEST_SCHEMA[input.method];
  const init = { GenerateKeys: { count: input.count }, ReleaseKey: { key, leaseId: "" } }[input.method as string] ?? { key };
  const body = Buffer.from(toBinary(schema, create(schema, init as never)));
  const outcome = await rawUnary(raw, input.method, body, input.when);
  checkOutcome(outcome, input.when === "sync" ? [S.CANCELLED] : [S.CANCELLED, ...IF_IT_RAN[input.method]], what);
  return input.method === "GenerateKeys" || input.method === "AcquireKey" || input.method === "GetPoolStats" ? undefined : key;
}
