import { KeyPoolError, messages } from "../../pool/index.js";
import { fnv1a } from "./shard-keys.js";

/** Where a Redis listing stands: in shard `shard` of `shards`, after creation sequence `after`. */
export interface ListCursor {
  readonly shard: number;
  readonly after: number;
}

/** Token layout version (byte 0). */
const VERSION = 1;
/** version, pool hash (4), shard count (2), shard (2), sequence (8, a float64 holding an integer). */
const BYTES = 17;

/**
 * The opaque page token of a Redis pool's listing: base64url of the pool's hash, its shard
 * count and the cursor, so any server of the pool continues a listing another began, and a token
 * carries no key text (keys are secrets). O(1).
 */
export function encodeListToken(pool: string, shards: number, cursor: ListCursor): string {
  const bytes = Buffer.alloc(BYTES);
  bytes.writeUInt8(VERSION, 0);
  bytes.writeUInt32BE(fnv1a(pool), 1);
  bytes.writeUInt16BE(shards, 5);
  bytes.writeUInt16BE(cursor.shard, 7);
  bytes.writeDoubleBE(cursor.after, 9);
  return bytes.toString("base64url");
}

/**
 * The cursor of `token` ("" = the start); INVALID_ARGUMENT "start the listing over" for a token
 * that is malformed, of another pool, or of the pool split into another number of shards. O(1).
 */
export function decodeListToken(token: string, pool: string, shards: number): ListCursor {
  if (token === "") return { shard: 0, after: 0 };
  const bytes = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url") : Buffer.alloc(0);
  if (bytes.length !== BYTES || bytes.readUInt8(0) !== VERSION) throw badToken("malformed");
  if (bytes.readUInt32BE(1) !== fnv1a(pool)) throw badToken("of another pool");
  if (bytes.readUInt16BE(5) !== shards) throw badToken("of the pool split into another number of shards");
  const shard = bytes.readUInt16BE(7);
  const after = bytes.readDoubleBE(9);
  if (shard >= shards || !Number.isSafeInteger(after) || after < 0) throw badToken("malformed");
  return { shard, after };
}

function badToken(why: string): KeyPoolError {
  return new KeyPoolError("invalid-argument", messages.badPageToken(why));
}
