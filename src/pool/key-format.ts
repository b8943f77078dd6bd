import { KeyPoolError } from "./errors.js";
import { KEY_PREFIX, MAX_KEY_CHARS, MIN_KEY_CHARS, TOKEN_CHARS, messages } from "./rules.js";

export { KEY_PREFIX, TOKEN_CHARS } from "./rules.js";

/**
 * The documented key format: 8 to 512 characters of printable ASCII (0x21-0x7e, so no spaces),
 * which covers imported secrets (API keys, tokens). Generated keys are `kp_` + 24 URL-safe base64
 * characters (144 random bits), 27 in all. Lease ids are 24 URL-safe base64 characters.
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

/** The index of the first character of `s` outside printable ASCII (or a space), or -1. O(length). */
function badCharAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return i;
  }
  return -1;
}

/** True when `s` is a key of the documented format (any key, imported or generated). O(length) <= 512. */
export function isKey(s: string): boolean {
  return s.length >= MIN_KEY_CHARS && s.length <= MAX_KEY_CHARS && badCharAt(s) === -1;
}

/** True when `s` has the shape of a key this server generates (`kp_` + 24). O(1). */
export function isGeneratedKey(s: string): boolean {
  return s.length === KEY_LENGTH && s.startsWith(KEY_PREFIX) && isToken(s, KEY_PREFIX.length);
}

/** True when `s` has the shape of a lease id. O(1). */
export function isLeaseId(s: string): boolean {
  return s.length === TOKEN_CHARS && isToken(s, 0);
}

/**
 * Throws INVALID_ARGUMENT unless `key` is a key of the documented format; the message names
 * `field` (e.g. "keys[3]"), the length and the first bad position, never the key. O(length).
 */
export function assertKey(key: string, field = "key"): void {
  if (isKey(key)) return;
  const bad = key.length >= MIN_KEY_CHARS && key.length <= MAX_KEY_CHARS ? badCharAt(key) : -1;
  throw new KeyPoolError("invalid-argument", messages.malformedKey(field, key.length, bad === -1 ? undefined : bad));
}

/** Throws INVALID_ARGUMENT unless `leaseId` is a well-formed lease id (`field` names it). */
export function assertLeaseId(leaseId: string, field = "lease_id"): void {
  if (isLeaseId(leaseId)) return;
  throw new KeyPoolError("invalid-argument", messages.malformedLeaseId(field, leaseId.length));
}

/**
 * A 32-bit hash of any string (FNV-1a over every character, then murmur3's finaliser so the low
 * bits a table masks depend on all of them): imported keys often share long prefixes
 * ("sk-proj-…"), so no fixed part of a key may stand for it. O(length) <= 512.
 */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Redacts a key for logs, never the whole key: a generated key's prefix and 4 random characters,
 * an imported key's first 4 characters and its length (a secret of 8 to 15 characters: the length only).
 */
export function redactKey(key: string): string {
  if (isGeneratedKey(key)) return `${key.slice(0, KEY_PREFIX.length + 4)}…`;
  return isKey(key) && key.length >= 16 ? `${key.slice(0, 4)}…(${key.length} chars)` : `<${key.length} chars>`;
}
