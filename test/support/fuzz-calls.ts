import * as grpc from "@grpc/grpc-js";
import { KEY_ANYWHERE } from "./fuzz-arbitraries.js";

/** The KeyService methods by their wire names. */
export const METHODS = [
  "GenerateKeys", "AcquireKey", "ReleaseKey", "DeleteKey", "KeepAliveKey", "KeepAlive", "GetKey", "GetPoolStats",
] as const;

/** One KeyService method's wire name. */
export type MethodName = (typeof METHODS)[number];

/** The admin methods of pools of real keys, tallied too (the garbage and cancel fuzzers send neither). */
export const POOL_METHODS = ["ImportKeys", "ListKeys"] as const;

/** A method whose inputs a Tally counts. */
export type TalliedMethod = MethodName | (typeof POOL_METHODS)[number];

/** The full path of a KeyService method. */
export const pathOf = (method: MethodName): string => `/keypool.v1.KeyService/${method}`;

/** How one call ended: its status code and details, and the response when it succeeded. */
export interface Outcome<T = unknown> {
  readonly code: grpc.status;
  readonly details: string;
  readonly value?: T | undefined;
}

/** Waits for a typed-client call and reports how it ended; never rejects. */
export async function outcomeOf<T>(call: Promise<T>): Promise<Outcome<T>> {
  try {
    return { code: grpc.status.OK, details: "", value: await call };
  } catch (err) {
    const e = err as Partial<grpc.ServiceError>;
    if (typeof e.code !== "number") throw err;
    return { code: e.code, details: e.details ?? "" };
  }
}

const identity = (b: Buffer): Buffer => b;

/** How a raw call is cut short, if at all. */
export type CancelMode = "none" | "sync" | "tick" | "immediate";

/**
 * Sends `body` as the request of a unary method, bytes as they are (no serializer), optionally
 * cancelling it right after sending. Resolves with the status and the raw response bytes.
 */
export function rawUnary(client: grpc.Client, method: MethodName, body: Buffer, cancel: CancelMode = "none"): Promise<Outcome<Buffer>> {
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(pathOf(method), identity, identity, body, (err, value) =>
      resolve(err ? { code: err.code, details: err.details ?? "" } : { code: grpc.status.OK, details: "", value }),
    );
    if (cancel === "sync") call.cancel();
    else if (cancel === "tick") process.nextTick(() => call.cancel());
    else if (cancel === "immediate") setImmediate(() => call.cancel());
  });
}

/** A raw KeepAlive stream: write frames as bytes, read responses as bytes, await its status. */
export interface RawStream {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly responses: Buffer[];
  readonly status: Promise<grpc.StatusObject>;
}

/** Opens a KeepAlive stream on `client` with identity serializers. */
export function rawKeepAlive(client: grpc.Client): RawStream {
  const call = client.makeBidiStreamRequest(pathOf("KeepAlive"), identity, identity);
  const responses: Buffer[] = [];
  call.on("data", (b: Buffer) => responses.push(b));
  call.on("error", () => {}); // the status event carries the same information
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  return { call, responses, status };
}

/** Per-method counts of inputs sent, for the summary and the "thousands per method" checks. */
export class Tally {
  readonly counts = new Map<TalliedMethod, number>([...METHODS, ...POOL_METHODS].map((m) => [m, 0]));

  add(method: TalliedMethod, n = 1): void {
    this.counts.set(method, this.counts.get(method)! + n);
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  /** One line: total and per method. */
  summary(label: string): string {
    return `${label}: ${this.total} inputs (${[...this.counts].map(([m, n]) => `${m} ${n}`).join(", ")})`;
  }
}

/** A call that broke the contract, described precisely enough to replay it. */
export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
}

/**
 * Checks one call's outcome: its code is one of `expected`, and its details carry neither a stack
 * trace nor anything shaped like a whole key nor a long echo of the input. Throws a
 * `ContractViolation` naming `what` (the method and a redacted input) otherwise. O(details).
 */
export function checkOutcome(outcome: Outcome, expected: readonly grpc.status[], what: string): void {
  const { code, details } = outcome;
  const got = `${grpc.status[code] ?? code} "${details.slice(0, 200)}"`;
  if (!expected.includes(code)) {
    throw new ContractViolation(`${what}: expected ${expected.map((c) => grpc.status[c]).join(" or ")}, got ${got}`);
  }
  if (code === grpc.status.UNKNOWN || code === grpc.status.INTERNAL) {
    throw new ContractViolation(`${what}: the server answered ${got}`);
  }
  if (/\n\s+at |\bat .+\.[cm]?[jt]s:\d+/.test(details)) throw new ContractViolation(`${what}: stack trace in details: ${got}`);
  if (KEY_ANYWHERE.test(details)) throw new ContractViolation(`${what}: a whole key in details`);
  if (details.length > 500) throw new ContractViolation(`${what}: ${details.length} characters of details`);
}

/** Runs `work` over `items` with at most `limit` in flight; resolves when all are done. */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
