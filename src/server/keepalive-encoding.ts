import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { KeepAliveResult, LeaseResult } from "../../gen/keypool/v1/keypool_pb.js";

/** A KeepAlive answer as the stream builds it: messages made by convert.ts. */
export interface KeepAliveAnswer {
  readonly results: readonly KeepAliveResult[];
  readonly leaseResults: readonly LeaseResult[];
}

/**
 * The fields this encoder writes, by message: test/server/keepalive-encoding.test.ts checks them
 * against the generated schemas, so a field added to the proto fails that test until it is
 * written here too.
 */
export const ENCODED_FIELDS = {
  "keypool.v1.KeepAliveResponse": ["results", "lease_results"],
  "keypool.v1.KeepAliveResult": ["key", "found", "expires_at"],
  "keypool.v1.LeaseResult": ["key", "lease_id", "renewed", "blocked_until", "expires_at", "reason"],
  "google.protobuf.Timestamp": ["seconds", "nanos"],
} as const;

/** Tags (field number << 3 | wire type) of the fields above. */
const LEN = 2;
const RESULTS = (1 << 3) | LEN;
const LEASE_RESULTS = (2 << 3) | LEN;
const KEY = (1 << 3) | LEN;
const FOUND = 2 << 3;
const KEEPALIVE_EXPIRES_AT = (3 << 3) | LEN;
const LEASE_ID = (2 << 3) | LEN;
const RENEWED = 3 << 3;
const BLOCKED_UNTIL = (4 << 3) | LEN;
const LEASE_EXPIRES_AT = (5 << 3) | LEN;
const REASON = (6 << 3) | LEN;
const SECONDS = 1 << 3;
const NANOS = 2 << 3;

/** Bytes of a varint of a non-negative integer below 2^53. */
function varintSize(n: number): number {
  if (n < 128) return 1;
  if (n < 16_384) return 2;
  if (n < 2_097_152) return 3;
  if (n < 268_435_456) return 4;
  let size = 5;
  for (n = Math.floor(n / 34_359_738_368); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** Writes `tag` and the varint `n`. */
function writeVarintField(out: Buffer, at: number, tag: number, n: number): number {
  out[at] = tag;
  return writeVarint(out, at + 1, n);
}

function writeVarint(out: Buffer, at: number, n: number): number {
  // Below 2^32 (lengths, nanos, seconds until 2106) the bit operators apply.
  if (n < 4_294_967_296) {
    let v = n >>> 0;
    for (; v > 127; v >>>= 7) out[at++] = (v & 127) | 128;
    out[at++] = v;
    return at;
  }
  for (; n >= 128; n = Math.floor(n / 128)) out[at++] = (n % 128) | 128;
  out[at++] = n;
  return at;
}

/** Bytes of an ASCII string field (tag, length, text); 0 for "" (proto3 leaves it out). */
function stringSize(s: string): number {
  return s.length === 0 ? 0 : 1 + varintSize(s.length) + s.length;
}

/** Set when a string had a non-ASCII character or a time was negative: the bytes are void. */
let unwritable = false;

function writeString(out: Buffer, at: number, tag: number, s: string): number {
  if (s.length === 0) return at;
  out[at++] = tag;
  at = writeVarint(out, at, s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) unwritable = true;
    out[at++] = c;
  }
  return at;
}

/**
 * A Timestamp's seconds as a number and its body's size, kept for the last two seen: a batch's
 * answers share one or two (convert.ts reuses them), and BigInt conversions are what costs. Kept
 * by identity, so a Timestamp must not change once encoded (convert.ts freezes its own).
 */
class TimestampSizes {
  private a: Timestamp | undefined;
  private aSeconds = 0;
  private aBody = 0;
  private b: Timestamp | undefined;
  private bSeconds = 0;
  private bBody = 0;
  seconds = 0;
  body = 0;

  /** Sets `seconds` and `body` for `t`. O(1). */
  load(t: Timestamp): void {
    if (t === this.a) [this.seconds, this.body] = [this.aSeconds, this.aBody];
    else if (t === this.b) [this.seconds, this.body] = [this.bSeconds, this.bBody];
    else {
      const seconds = Number(t.seconds);
      this.seconds = seconds;
      this.body = (seconds === 0 ? 0 : 1 + varintSize(seconds)) + (t.nanos === 0 ? 0 : 1 + varintSize(t.nanos));
      // One this encoder cannot write is never kept, so every use of it is flagged.
      if (!(seconds >= 0 && t.nanos >= 0) || t.$typeName !== "google.protobuf.Timestamp" || t.$unknown !== undefined) unwritable = true;
      else [this.b, this.bSeconds, this.bBody, this.a, this.aSeconds, this.aBody] = [this.a, this.aSeconds, this.aBody, t, seconds, this.body];
    }
  }
}

const sizes = new TimestampSizes();

/** Bytes of a Timestamp field; 0 when absent. */
function timestampSize(t: Timestamp | undefined): number {
  if (t === undefined) return 0;
  sizes.load(t);
  return 1 + varintSize(sizes.body) + sizes.body;
}

function writeTimestamp(out: Buffer, at: number, tag: number, t: Timestamp | undefined): number {
  if (t === undefined) return at;
  sizes.load(t);
  out[at++] = tag;
  at = writeVarint(out, at, sizes.body);
  if (sizes.seconds !== 0) at = writeVarintField(out, at, SECONDS, sizes.seconds);
  if (t.nanos !== 0) at = writeVarintField(out, at, NANOS, t.nanos);
  return at;
}

const resultBody = (r: KeepAliveResult): number => stringSize(r.key) + (r.found ? 2 : 0) + timestampSize(r.expiresAt);

const leaseBody = (r: LeaseResult): number =>
  stringSize(r.key) + stringSize(r.leaseId) + (r.renewed ? 2 : 0) + timestampSize(r.blockedUntil) +
  timestampSize(r.expiresAt) + stringSize(r.reason);

/** Whether every entry is a whole message made as convert.ts makes them (no init shapes, no unknown fields). */
const madeByConvert = (answer: KeepAliveAnswer): boolean =>
  answer.results.every((r) => r.$typeName === "keypool.v1.KeepAliveResult" && r.$unknown === undefined) &&
  answer.leaseResults.every((r) => r.$typeName === "keypool.v1.LeaseResult" && r.$unknown === undefined);

/**
 * Encodes a KeepAlive answer as KeepAliveResponse bytes, byte for byte what protobuf-es's
 * `toBinary` writes (fields in number order, proto3 defaults left out), or undefined when the
 * answer holds something this encoder does not write (non-ASCII text, negative times, unknown
 * fields, init shapes instead of messages): the caller then uses the generic encoder. One size
 * pass and one buffer, without the per-field closures, forks and BigInt arithmetic of the
 * generic path, which were the largest part of a stream answer's cost and twice as large for
 * renewals (two Timestamps per entry). O(bytes).
 */
export function encodeKeepAliveAnswer(answer: KeepAliveAnswer): Buffer | undefined {
  if (!Array.isArray(answer.results) || !Array.isArray(answer.leaseResults) || !madeByConvert(answer)) return undefined;
  unwritable = false;
  let size = 0;
  for (const r of answer.results) {
    const body = resultBody(r);
    size += 1 + varintSize(body) + body;
  }
  for (const r of answer.leaseResults) {
    const body = leaseBody(r);
    size += 1 + varintSize(body) + body;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of answer.results) {
    out[at++] = RESULTS;
    at = writeVarint(out, at, resultBody(r));
    at = writeString(out, at, KEY, r.key);
    if (r.found) at = writeVarintField(out, at, FOUND, 1);
    at = writeTimestamp(out, at, KEEPALIVE_EXPIRES_AT, r.expiresAt);
  }
  for (const r of answer.leaseResults) {
    out[at++] = LEASE_RESULTS;
    at = writeVarint(out, at, leaseBody(r));
    at = writeString(out, at, KEY, r.key);
    at = writeString(out, at, LEASE_ID, r.leaseId);
    if (r.renewed) at = writeVarintField(out, at, RENEWED, 1);
    at = writeTimestamp(out, at, BLOCKED_UNTIL, r.blockedUntil);
    at = writeTimestamp(out, at, LEASE_EXPIRES_AT, r.expiresAt);
    at = writeString(out, at, REASON, r.reason);
  }
  return unwritable ? undefined : out;
}
