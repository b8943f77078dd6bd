import { create, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ImportKeysRequestSchema, KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { ImportKeysResponse, KeyInfo as WireKeyInfo, ListKeysResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { KEY_SHAPE, LEASE_SHAPE, describeInput } from "./fuzz-arbitraries.js";
import { checkOutcome, ContractViolation } from "./fuzz-calls.js";
import type { Outcome } from "./fuzz-calls.js";
import { POOL_SHAPE } from "./fuzz-pool-inputs.js";
import type { ImportInput, ListInput } from "./fuzz-pool-inputs.js";

const S = grpc.status;

/** What one call must come to: one status, and a piece of its details naming what was wrong. */
export interface Verdict {
  readonly code: grpc.status;
  readonly says?: string;
}

/** A resolved ImportKeys or ListKeys call, the contract's verdict on it, and how to name it in a failure. */
export interface PoolCase<R> {
  readonly request: R;
  readonly verdict: Verdict;
  readonly what: string;
}

type ImportRequest = { keys: string[]; pool: string };
type ListRequest = { pool: string; state: KeyState; pageSize: number; pageToken: string };

/** What a run's server must hold: its pools and their settings. */
export interface ShadowLimits {
  readonly defaultPool: string;
  readonly maxPools: number;
  readonly maxKeys: number;
  readonly maxBytes: number;
  readonly keepaliveTtlMs: number;
}

/**
 * What the server must hold after a sequence of ImportKeys and ListKeys calls (time standing
 * still): every pool that exists with its keys and their states, and every page token handed
 * out with the listing it belongs to. Turns fuzz inputs into calls with exact verdicts, checked
 * in the order a request is read: its size, its pool's name, its own fields, then the pools and
 * the pool. Only answered calls change it, so a refused call that changed the server shows up as
 * a later mismatch. O(keys of a call) per call.
 */
export class PoolShadow {
  /** Full pool name -> key -> state, for every pool that exists. */
  readonly pools = new Map<string, Map<string, KeyState>>();
  private readonly tokens = new Map<string, { pool: string; state: number }>();
  private readonly handed: string[] = [];
  /** The last token handed out per listing (pool and state), to go on with. */
  private readonly last = new Map<string, string>();
  private serial = 0;

  constructor(readonly limits: ShadowLimits) {
    this.pools.set(limits.defaultPool, new Map());
  }

  /** A pool's full name ("" is the default pool). */
  full(pool: string): string {
    return pool === "" ? this.limits.defaultPool : pool;
  }

  /** The ImportKeys call an input makes and the contract's verdict on it. O(keys). */
  importCase(input: ImportInput): PoolCase<ImportRequest> {
    const serial = this.serial++;
    const keys = Array.from({ length: input.count }, (_, i) => input.texts[i] ?? `${input.base}-${serial}-${i}`);
    for (const spoil of input.spoils) {
      if (keys.length === 0) break;
      const at = spoil.at % keys.length;
      if ("bad" in spoil) keys[at] = spoil.bad;
      else if ("repeat" in spoil) keys[at] = keys[spoil.repeat % Math.max(1, at)]!;
      else {
        const pools = [...this.pools].filter(([name, held]) => held.size > 0 && (name === this.full(input.pool)) !== spoil.elsewhere);
        const held = pools.length === 0 ? [] : [...pools[spoil.held % pools.length]![1].keys()];
        if (held.length > 0) keys[at] = held[spoil.held % held.length]!;
      }
    }
    const request = { keys, pool: input.pool };
    const what = `ImportKeys{${keys.length} keys, pool: ${describeInput(input.pool)}}`;
    return { request, verdict: this.importVerdict(request), what };
  }

  private importVerdict({ keys, pool }: ImportRequest): Verdict {
    if (toBinary(ImportKeysRequestSchema, create(ImportKeysRequestSchema, { keys, pool })).length > this.limits.maxBytes) return { code: S.RESOURCE_EXHAUSTED };
    if (pool !== "" && !POOL_SHAPE.test(pool)) return { code: S.INVALID_ARGUMENT, says: "pool name" };
    if (keys.length < 1 || keys.length > 1_000) return { code: S.INVALID_ARGUMENT, says: `between 1 and 1000 keys (got ${keys.length})` };
    const bad = keys.findIndex((k) => !KEY_SHAPE.test(k));
    if (bad >= 0) return { code: S.INVALID_ARGUMENT, says: `keys[${bad}]` };
    const seen = new Set<string>();
    const repeated = keys.findIndex((k) => seen.has(k) || !seen.add(k));
    if (repeated >= 0) return { code: S.ALREADY_EXISTS, says: `keys[${repeated}]` };
    const held = this.pools.get(this.full(pool));
    if (!held && this.pools.size >= this.limits.maxPools) return { code: S.RESOURCE_EXHAUSTED, says: "--max-pools" };
    const there = keys.findIndex((k) => held?.has(k));
    if (there >= 0) return { code: S.ALREADY_EXISTS, says: `keys[${there}]` };
    if ((held?.size ?? 0) + keys.length > this.limits.maxKeys) return { code: S.RESOURCE_EXHAUSTED, says: "--max-keys" };
    return { code: S.OK };
  }

  /** Checks an ImportKeys answer against its verdict, and records the keys of one that succeeded. */
  checkImport(c: PoolCase<ImportRequest>, outcome: Outcome<ImportKeysResponse>, now: number): void {
    check(c, outcome, c.request.keys.filter((k) => !c.request.pool.includes(k)));
    if (outcome.code !== S.OK) return;
    const name = this.full(c.request.pool);
    const got = outcome.value!.keys;
    if (got.length !== c.request.keys.length) throw new ContractViolation(`${c.what}: answered ${got.length} keys`);
    got.forEach((info, i) => {
      const expiresAt = info.expiresAt ? timestampMs(info.expiresAt) : undefined;
      if (info.key !== c.request.keys[i] || info.pool !== name || info.state !== KeyState.FREE || expiresAt !== now + this.limits.keepaliveTtlMs) {
        throw new ContractViolation(`${c.what}: keys[${i}] came back as another key, pool, state or life`);
      }
    });
    const held = this.pools.get(name) ?? new Map<string, KeyState>();
    for (const key of c.request.keys) held.set(key, KeyState.FREE);
    this.pools.set(name, held);
  }

  /** The ListKeys call an input makes (a handed-out token when it asks for one) and its verdict. O(1). */
  listCase(input: ListInput): PoolCase<ListRequest> {
    const { token } = input;
    const pageToken = "text" in token ? token.text
      : "next" in token ? (this.last.get(`${this.full(input.pool)}\0${input.state}`) ?? "")
      : (this.handed[token.handed % Math.max(1, this.handed.length)] ?? "");
    const request = { pool: input.pool, state: input.state as KeyState, pageSize: input.pageSize, pageToken };
    const what = `ListKeys{pool: ${describeInput(input.pool)}, state: ${input.state}, page_size: ${input.pageSize}, page_token: ${describeInput(pageToken)}}`;
    return { request, verdict: this.listVerdict(request), what };
  }

  private listVerdict({ pool, state, pageSize, pageToken }: ListRequest): Verdict {
    if (pool !== "" && !POOL_SHAPE.test(pool)) return { code: S.INVALID_ARGUMENT, says: "pool name" };
    if (pageSize > 1_000) return { code: S.INVALID_ARGUMENT, says: "page_size" };
    if (!(state >= 0 && state <= 3)) return { code: S.INVALID_ARGUMENT, says: "state" };
    const listing = this.tokens.get(pageToken);
    if (pageToken !== "" && (listing?.pool !== this.full(pool) || listing.state !== state)) return { code: S.INVALID_ARGUMENT, says: "page_token" };
    return { code: S.OK };
  }

  /** Checks a ListKeys answer: at most a page of distinct keys of that pool and state, as held; records its token. */
  checkList(c: PoolCase<ListRequest>, outcome: Outcome<ListKeysResponse>): void {
    check(c, outcome, []);
    if (outcome.code !== S.OK) return;
    const { keys, nextPageToken } = outcome.value!;
    const { pool, state, pageSize } = c.request;
    const held = this.pools.get(this.full(pool));
    this.last.set(`${this.full(pool)}\0${state}`, nextPageToken);
    if (keys.length > (pageSize || 100)) throw new ContractViolation(`${c.what}: a page of ${keys.length} keys`);
    if (new Set(keys.map((k) => k.key)).size !== keys.length) throw new ContractViolation(`${c.what}: one key twice in a page`);
    for (const info of keys) checkListed(c.what, info, this.full(pool), held, state);
    if (nextPageToken === "") return;
    if (!LEASE_SHAPE.test(nextPageToken)) throw new ContractViolation(`${c.what}: a next_page_token of the wrong shape`);
    if (!this.tokens.has(nextPageToken)) this.handed.push(nextPageToken);
    this.tokens.set(nextPageToken, { pool: this.full(pool), state });
  }
}

/** Throws unless a listed key is one `held` holds, in `pool`, in the state held and asked for. */
function checkListed(what: string, info: WireKeyInfo, pool: string, held: ReadonlyMap<string, KeyState> | undefined, state: number): void {
  const want = held?.get(info.key);
  if (want === undefined) throw new ContractViolation(`${what}: listed a key the pool does not hold`);
  if (info.pool !== pool || info.state !== want || (state !== 0 && info.state !== state)) {
    throw new ContractViolation(`${what}: listed a key with pool ${info.pool} and state ${info.state} (held: ${want})`);
  }
}

/** The status is the verdict's, the details name what it says, and carry none of `secrets`. */
function check(c: PoolCase<unknown>, outcome: Outcome, secrets: readonly string[]): void {
  checkOutcome(outcome, [c.verdict.code], c.what);
  if (c.verdict.says && !outcome.details.includes(c.verdict.says)) {
    throw new ContractViolation(`${c.what}: details "${outcome.details.slice(0, 200)}" do not name ${c.verdict.says}`);
  }
  // Texts of 8+ characters with a few distinct ones: a message could not hold them by chance.
  const leaked = secrets.find((k) => k.length >= 8 && new Set(k).size >= 3 && outcome.details.includes(k));
  if (leaked !== undefined) throw new ContractViolation(`${c.what}: a key text of the request in details`);
}
