import { KeyPoolError } from "./errors.js";
import { KEY_PREFIX, TOKEN_CHARS, messages } from "./rules.js";

export { KEY_PREFIX, TOKEN_CHARS } from "./rules.js";

/**
 * The documented key format: `kp_` + 24 URL-safe base64 characters (144 random bits), 27 in all.
 * Lease ids are 24 URL-safe base64 characters (144 random bits).
 */
/** Random bytes behind one key or lease id. */
export const TOKEN_BYTES = 18;
/** Length of a whole key. */
export const KEY_LENGTH = KEY_PREFIX.length + TOKEN_CHARS;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** char code -> 6-bit value, or -1 outside the alphabet. */
const VALUE = new Int8Array(128).fill(-1);
CODES.forEach((code, i) => (VALUE[code] = i));
const PREFIX_CODES = Array.from(KEY_PREFIX, (c) => c.charCodeAt(0));

/** Encodes 18 bytes at `offset` as 24 URL-safe base64 characters after `prefix` codes. O(1). */
export function encodeToken(bytes: Uint8Array, offset: number, prefix: readonly number[] = []): string {
  const codes = prefix.slice();
  for (let i = offset; i < offset + TOKEN_BYTES; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    codes.push(CODES[n >>> 18]!, CODES[(n >>> 12) & 63]!, CODES[(n >>> 6) & 63]!, CODES[n & 63]!);
  }
  // fromCharCode yields one flat string: no rope nodes kept alive per key.
  return String.fromCharCode.apply(null, codes);
}

/** Encodes 18 bytes at `offset` as a key (`kp_…`). O(1). */
export function encodeKey(bytes: Uint8Array, offset: number): string {
  return encodeToken(bytes, offset, PREFIX_CODES);
}

function isToken(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || VALUE[c] === -1) return false;
  }
  return true;
}

/** Decodes a well-formed 24-character token into 18 bytes at `offset` of `into`. O(1). */
export function decodeToken(token: string, into: Uint8Array, offset: number): void {
  for (let i = 0, o = offset; i < TOKEN_CHARS; i += 4, o += 3) {
    const n = (VALUE[token.charCodeAt(i)]! << 18) | (VALUE[token.charCodeAt(i + 1)]! << 12) |
      (VALUE[token.charCodeAt(i + 2)]! << 6) | VALUE[token.charCodeAt(i + 3)]!;
    into[o] = n >>> 16;
    into[o + 1] = (n >>> 8) & 255;
    into[o + 2] = n & 255;
  }
}

/** True when `s` has the shape of a key. O(1): keys have a fixed length. */
export function isKey(s: string): boolean {
  return s.length === KEY_LENGTH && s.startsWith(KEY_PREFIX) && isToken(s, KEY_PREFIX.length);
}

/** True when `s` has the shape of a lease id. O(1). */
export function isLeaseId(s: string): boolean {
  return s.length === TOKEN_CHARS && isToken(s, 0);
}

/** Throws INVALID_ARGUMENT unless `key` is a well-formed key; the message never echoes the key. */
export function assertKey(key: string, field = "key"): void {
  if (isKey(key)) return;
  throw new KeyPoolError("invalid-argument", messages.malformedKey(field, key.length));
}

/** Throws INVALID_ARGUMENT unless `leaseId` is a well-formed lease id (`field` names it). */
export function assertLeaseId(leaseId: string, field = "lease_id"): void {
  if (isLeaseId(leaseId)) return;
  throw new KeyPoolError("invalid-argument", messages.malformedLeaseId(field, leaseId.length));
}

/**
 * A 30-bit hash of a well-formed key: its first five random characters, which are uniformly
 * distributed because the server made them. O(1).
 */
export function keyHash(key: string): number {
  let h = 0;
  for (let i = KEY_PREFIX.length; i < KEY_PREFIX.length + 5; i++) h = (h << 6) | VALUE[key.charCodeAt(i)]!;
  return h;
}

/** Redacts a key for logs: the prefix and the first 4 random characters, never the whole key. */
export function redactKey(key: string): string {
  return isKey(key) ? `${key.slice(0, KEY_PREFIX.length + 4)}…` : `<${key.length} chars>`;
}
