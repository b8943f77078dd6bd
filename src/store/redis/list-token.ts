import { KeyPoolError, messages } from "../../pool/index.js";
import type { KeyState } from "../../pool/index.js";
import { fnv1a } from "./shard-keys.js";

/** Where a Redis listing stands: in shard `shard` of `shards`, after creation sequence `after`. */
export interface ListCursor {
  readonly shard: number;
  readonly after: number;
}

/** Token layout version (byte 0). */
const VERSION = 1;
/** version, pool hash (4), shard count (2), shard (2), sequence (8, a float64 holding an integer), state filter (1). */
const BYTES = 18;
/** A listing's state filter as its token's last byte. */
const STATE_CODES: readonly (KeyState | undefined)[] = [undefined, "free", "blocked", "cooling"];

/**
 * The state filter's code in a token; INVALID_ARGUMENT for a state that is none. O(1).
 */
function stateCode(state: KeyState | undefined): number {
  const code = STATE_CODES.indexOf(state);
  if (code === -1) throw new KeyPoolError("invalid-argument", messages.unknownState(String(state)));
  return code;
}

/**
 * The opaque page token of a Redis pool's listing: base64url of the pool's hash, its shard
 * count, the cursor and the state filter, so any server of the pool continues a listing another
 * began, and a token carries no key text (keys are secrets). O(1).
 */
export function encodeListToken(pool: string, shards: number, cursor: ListCursor, state?: KeyState): string {
  const bytes = Buffer.alloc(BYTES);
  bytes.writeUInt8(VERSION, 0);
  bytes.writeUInt32BE(fnv1a(pool), 1);
  bytes.writeUInt16BE(shards, 5);
  bytes.writeUInt16BE(cursor.shard, 7);
  bytes.writeDoubleBE(cursor.after, 9);
  bytes.writeUInt8(stateCode(state), 17);
  return bytes.toString("base64url");
}

/**
 * The cursor of `token` ("" = the start); INVALID_ARGUMENT "start the listing over" for a token
 * that is malformed, of another pool, of the pool split into another number of shards, or made
 * for another state filter (and for a state that is none). O(1).
 */
export function decodeListToken(token: string, pool: string, shards: number, state?: KeyState): ListCursor {
  const code = stateCode(state);
  if (token === "") return { shard: 0, after: 0 };
  const bytes = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url") : Buffer.alloc(0);
  if (bytes.length !== BYTES || bytes.readUInt8(0) !== VERSION) throw badToken("it is malformed");
  if (bytes.readUInt32BE(1) !== fnv1a(pool)) throw badToken("it comes from another pool");
  if (bytes.readUInt16BE(5) !== shards) throw badToken("the pool was split into another number of shards");
  if (bytes.readUInt8(17) !== code) throw badToken("it was made for another state filter");
  const shard = bytes.readUInt16BE(7);
  const after = bytes.readDoubleBE(9);
  if (shard >= shards || !Number.isSafeInteger(after) || after < 0) throw badToken("it is malformed");
  return { shard, after };
}

function badToken(why: string): KeyPoolError {
  return new KeyPoolError("invalid-argument", messages.badPageToken(why));
}
