import { KeyPoolError } from "./errors.js";
import { TOKEN_BYTES, decodeToken, encodeToken, isLeaseId } from "./key-format.js";
import { LIST_SCAN_FACTOR, messages } from "./rules.js";
import type { KeyInfo, KeyState, ListPage, ListQuery } from "./types.js";

/** Layout of a page token's 18 bytes: version, pool instance, next slot, state filter. */
const TOKEN_VERSION = 1;
/** Bytes naming the pool instance a token belongs to. */
export const INSTANCE_BYTES = 8;
const CURSOR_AT = 1 + INSTANCE_BYTES;
const STATE_AT = CURSOR_AT + 4;
const STATE_CODES: readonly (KeyState | undefined)[] = [undefined, "free", "blocked", "cooling"];

/**
 * What a listing reads from the pool, position by position: positions number the pool's slots
 * 0, 1, 2... and a key keeps its position for life (see PoolSlots).
 */
export interface ListingSource {
  /** Positions ever used: every key of the pool has a position below it. */
  readonly highWater: number;
  /** The state of the live key at position `slot` at `now`, or undefined (empty, dead key). O(1). */
  stateAt(slot: number, now: number): KeyState | undefined;
  /** The key at position `slot` as the pool answers it at `now`. O(1). */
  info(slot: number, now: number): KeyInfo;
}

/**
 * One page of a listing in position order, examining at most LIST_SCAN_FACTOR * pageSize
 * positions, so a call is O(pageSize) whatever the filter (the page may then hold fewer keys, even
 * none, with a token to go on). A key keeps its position for life, so a full scan returns every key present for
 * the whole scan exactly once; keys added meanwhile may or may not appear. Tokens name the pool
 * `instance` (random per pool and process run) and the state filter, and carry no key text;
 * another's is INVALID_ARGUMENT. `query.pageSize` must be 1..MAX_PAGE_SIZE.
 */
export function listPage(source: ListingSource, query: ListQuery, now: number, instance: Uint8Array): ListPage {
  const stateCode = STATE_CODES.indexOf(query.state);
  if (stateCode === -1) throw new KeyPoolError("invalid-argument", messages.unknownState(String(query.state)));
  let slot = query.pageToken === "" ? 0 : cursorOf(query.pageToken, instance, stateCode);
  const keys: KeyInfo[] = [];
  const end = Math.min(source.highWater, slot + LIST_SCAN_FACTOR * query.pageSize);
  for (; slot < end && keys.length < query.pageSize; slot++) {
    const state = source.stateAt(slot, now);
    if (state !== undefined && (query.state === undefined || state === query.state)) keys.push(source.info(slot, now));
  }
  return { keys, nextPageToken: slot >= source.highWater ? "" : tokenOf(instance, slot, stateCode) };
}

/** The token that resumes at `slot`. O(1). */
function tokenOf(instance: Uint8Array, slot: number, stateCode: number): string {
  const bytes = new Uint8Array(TOKEN_BYTES);
  bytes[0] = TOKEN_VERSION;
  bytes.set(instance, 1);
  new DataView(bytes.buffer).setUint32(CURSOR_AT, slot, true);
  bytes[STATE_AT] = stateCode;
  return encodeToken(bytes, 0);
}

/** The slot a token resumes at; INVALID_ARGUMENT for a token of another listing. O(1). */
function cursorOf(token: string, instance: Uint8Array, stateCode: number): number {
  if (!isLeaseId(token)) throw badToken("it is malformed");
  const bytes = new Uint8Array(TOKEN_BYTES);
  decodeToken(token, bytes, 0);
  if (bytes[0] !== TOKEN_VERSION || bytes.subarray(STATE_AT + 1).some((b) => b !== 0)) throw badToken("it is malformed");
  if (instance.some((b, i) => bytes[1 + i] !== b)) throw badToken("it comes from another pool, store or run of the server");
  if (bytes[STATE_AT] !== stateCode) throw badToken("it was made for another state filter");
  return new DataView(bytes.buffer).getUint32(CURSOR_AT, true);
}

function badToken(why: string): KeyPoolError {
  return new KeyPoolError("invalid-argument", messages.badPageToken(why));
}
