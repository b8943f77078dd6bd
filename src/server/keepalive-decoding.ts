import type { KeepAliveRequest, LeaseRef } from "../../gen/keypool/v1/keypool_pb.js";

/**
 * The fields this decoder reads, by message: test/server/keepalive-encoding.test.ts checks them
 * against the generated schemas, so a field added to the proto fails that test until it is read
 * here too.
 */
export const DECODED_FIELDS = {
  "keypool.v1.KeepAliveRequest": ["keys", "leases", "pool"],
  "keypool.v1.LeaseRef": ["key", "lease_id"],
} as const;

const LEN = 2;
const KEYS = (1 << 3) | LEN;
const LEASES = (2 << 3) | LEN;
const POOL = (3 << 3) | LEN;
const LEASE_KEY = (1 << 3) | LEN;
const LEASE_ID = (2 << 3) | LEN;

/** Where the reader is; `at` is -1 once it met anything it does not read. */
interface Cursor {
  at: number;
}

/** A varint below 2^28 (every length here), or -1 for anything else. */
function readLength(bytes: Buffer, c: Cursor, end: number): number {
  let n = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (c.at >= end) break;
    const b = bytes[c.at++]!;
    n |= (b & 127) << shift;
    if (b < 128) return n;
  }
  c.at = -1;
  return -1;
}

/** An ASCII string of `length` bytes (a latin1 slice of ASCII is its UTF-8 decoding), else "". */
function readAscii(bytes: Buffer, c: Cursor, length: number, end: number): string {
  const from = c.at;
  const to = from + length;
  if (length < 0 || to > end) {
    c.at = -1;
    return "";
  }
  for (let i = from; i < to; i++) {
    if (bytes[i]! > 0x7f) {
      c.at = -1; // UTF-8 beyond ASCII: the generic decoder checks and decodes it
      return "";
    }
  }
  c.at = to;
  return bytes.toString("latin1", from, to);
}

function readLeaseRef(bytes: Buffer, c: Cursor, end: number): LeaseRef {
  let key = "";
  let leaseId = "";
  while (c.at >= 0 && c.at < end) {
    const tag = bytes[c.at++];
    if (tag === LEASE_KEY) key = readAscii(bytes, c, readLength(bytes, c, end), end);
    else if (tag === LEASE_ID) leaseId = readAscii(bytes, c, readLength(bytes, c, end), end);
    else c.at = -1;
  }
  if (c.at !== end) c.at = -1;
  return { $typeName: "keypool.v1.LeaseRef", key, leaseId };
}

/**
 * Decodes KeepAliveRequest bytes as protobuf-es's `fromBinary` would (same message shape; a
 * repeated scalar's last value wins), or undefined for anything but a well-formed message of the
 * fields above with ASCII text: unknown fields, other wire types, non-ASCII or truncated bytes
 * go to the generic decoder, which keeps its exact behaviour (and error) for them. Without the
 * generic path's reflective message per LeaseRef, decoding a renewal no longer costs twice a
 * keepalive's. O(bytes).
 */
export function decodeKeepAliveRequest(bytes: Buffer): KeepAliveRequest | undefined {
  const keys: string[] = [];
  const leases: LeaseRef[] = [];
  let pool = "";
  const c: Cursor = { at: 0 };
  const end = bytes.length;
  while (c.at >= 0 && c.at < end) {
    const tag = bytes[c.at++];
    if (tag === KEYS) keys.push(readAscii(bytes, c, readLength(bytes, c, end), end));
    else if (tag === POOL) pool = readAscii(bytes, c, readLength(bytes, c, end), end);
    else if (tag === LEASES) {
      const length = readLength(bytes, c, end);
      const stop = c.at + length;
      if (length < 0 || stop > end) return undefined;
      leases.push(readLeaseRef(bytes, c, stop));
    } else return undefined;
  }
  if (c.at !== end) return undefined;
  return { $typeName: "keypool.v1.KeepAliveRequest", keys, leases, pool };
}
