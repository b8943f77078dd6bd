import { create, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { KeepAliveRequestSchema } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeepAliveResponse, KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import type { ReferenceModel } from "../store/conformance/reference-model.js";
import { describeInput, malformedKey, wellFormedKey } from "./fuzz-arbitraries.js";
import { checkOutcome, ContractViolation } from "./fuzz-calls.js";

/** How a generated KeepAlive stream ends. */
export type Ending = "half-close" | "malformed-key" | "too-many-keys" | "cancel";

/**
 * When a cancelling client cancels. Never in the same tick as the call starts: grpc-js 1.14 then
 * reports CANCELLED locally but leaves the HTTP/2 stream open until the connection closes, so the
 * server never learns of it (a client quirk, not a server leak).
 */
export type CancelWhen = "next-tick" | "immediate" | "first-response";

/** A generated stream: requests of known-key picks and unknown keys, then an ending. */
export interface SessionInput {
  readonly requests: readonly (readonly (number | string)[])[];
  readonly ending: Ending;
  readonly cancelWhen: CancelWhen;
  readonly bad: { readonly key: string; readonly at: number; readonly extra: number };
}

/** Up to `maxRequests` requests of up to 1000 keys (3 in 4 known picks), and an ending. */
export function sessionInput(maxRequests: number): fc.Arbitrary<SessionInput> {
  const pick = fc.oneof({ weight: 3, arbitrary: fc.nat() }, { weight: 1, arbitrary: wellFormedKey });
  return fc.record({
    requests: fc.array(fc.array(pick, { maxLength: 1000, size: "max" }), { minLength: 1, maxLength: maxRequests, size: "max" }),
    ending: fc.constantFrom<Ending>("half-close", "half-close", "half-close", "malformed-key", "too-many-keys", "cancel"),
    cancelWhen: fc.constantFrom<CancelWhen>("next-tick", "immediate", "first-response"),
    bad: fc.record({ key: malformedKey(2_000), at: fc.nat(), extra: fc.integer({ min: 1, max: 2_000 }) }),
  });
}

/** A stream ready to send: the requests, what each answered one must say, the final status. */
export interface Session {
  readonly requests: readonly string[][];
  /** Per answered request, per key: found or not. */
  readonly found: readonly boolean[][];
  readonly ending: Ending;
  readonly cancelWhen?: CancelWhen;
  readonly codes: readonly grpc.status[];
  /** Keys the server must answer one by one (the inputs this session counts for). */
  readonly answeredKeys: number;
}

/**
 * Resolves picks to keys and expectations, keeping `model` alive-times up to date. A rejected
 * last request changes nothing (the whole request is refused before any key is touched). O(keys).
 */
/** A bad last request is INVALID_ARGUMENT, unless it is too large to be read at all. */
function rejection(keys: string[]): grpc.status {
  const bytes = toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys })).length;
  return bytes > DEFAULT_LIMITS.maxRequestBytes ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT;
}

export function resolveSession(
  input: SessionInput, model: ReferenceModel, known: readonly string[], now: number, maxKeysPerRequest: number,
): Session {
  const requests = input.requests.map((r) => r.map((p) => (typeof p === "number" ? known[p % known.length]! : p)));
  const found = requests.map((keys) => keys.map((key) => "ok" in model.keepAlive(key, now)));
  const answeredKeys = requests.reduce((n, r) => n + r.length, 0);
  const base = { found, ending: input.ending, cancelWhen: input.cancelWhen, answeredKeys };
  if (input.ending === "malformed-key") {
    const last = [...(requests.at(-1) ?? [])];
    last.splice(input.bad.at % (last.length + 1), 0, input.bad.key);
    return { ...base, requests: [...requests, last], codes: [rejection(last)] };
  }
  if (input.ending === "too-many-keys") {
    const last = Array.from({ length: maxKeysPerRequest + input.bad.extra }, (_, i) => known[(input.bad.at + i) % known.length]!);
    return { ...base, requests: [...requests, last], codes: [rejection(last)] };
  }
  return { ...base, requests, codes: [input.ending === "cancel" ? grpc.status.CANCELLED : grpc.status.OK] };
}

/** Cancels `call` when `when` says. */
function cancelLater(call: { cancel(): void; once(event: "data", listener: () => void): unknown }, when: CancelWhen | undefined): void {
  if (when === "next-tick") process.nextTick(() => call.cancel());
  else if (when === "immediate") setImmediate(() => call.cancel());
  else call.once("data", () => call.cancel());
}

/** Throws unless `response` answers `keys` in order with the expected `found` flags and deadlines. */
function checkResponse(response: KeepAliveResponse, keys: readonly string[], found: readonly boolean[], expiresAt: number, what: string): void {
  if (response.results.length !== keys.length) {
    throw new ContractViolation(`${what}: ${response.results.length} results for ${keys.length} keys`);
  }
  response.results.forEach((r, i) => {
    if (r.key !== keys[i]) throw new ContractViolation(`${what}: result ${i} names another key than ${describeInput(keys[i]!)}`);
    if (r.found !== found[i]) throw new ContractViolation(`${what}: result ${i} found=${r.found}, expected ${found[i]}`);
    const at = r.expiresAt ? timestampMs(r.expiresAt) : undefined;
    if (at !== (found[i] ? expiresAt : undefined)) throw new ContractViolation(`${what}: result ${i} expires at ${at}`);
  });
}

/**
 * Plays one session on its own stream of `client` and checks every response and the final status.
 * A cancelled stream may have been answered in part; what it got must still be right.
 */
export async function playSession(client: TypedClient<typeof KeyService>, session: Session, expiresAt: number, what: string): Promise<void> {
  const call = client.keepAlive();
  const responses: KeepAliveResponse[] = [];
  call.on("data", (r: KeepAliveResponse) => responses.push(r));
  call.on("error", () => {}); // the status event says the same
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  for (const keys of session.requests) call.write({ keys });
  if (session.ending === "half-close") call.end();
  if (session.ending === "cancel") cancelLater(call, session.cancelWhen);
  const { code, details } = await status;
  checkOutcome({ code, details }, session.codes, `${what} (${session.ending})`);
  const answered = session.found.length;
  if (session.ending !== "cancel" && responses.length !== answered) {
    throw new ContractViolation(`${what}: ${responses.length} responses to ${answered} answerable requests`);
  }
  if (responses.length > answered) throw new ContractViolation(`${what}: more responses than requests`);
  responses.forEach((r, i) => checkResponse(r, session.requests[i]!, session.found[i]!, expiresAt, `${what}, response ${i}`));
}
