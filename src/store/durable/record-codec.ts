import { crc32 } from "node:zlib";
import { isKey, isLeaseId } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";

/**
 * The layout version written in byte 0 of every record (1: before fencing tokens, 2: before the
 * checksum; both still read). A new field goes before the checksum, with a new version.
 */
export const RECORD_VERSION = 3;
/**
 * Bytes of one encoded record: version, three float64 times, a 24-byte lease id, fencing token,
 * acquiredAt, and a CRC-32 of the key and everything before it.
 */
export const RECORD_BYTES = 69;
/** Bytes of a version 2 record: no checksum. */
const V2_BYTES = 65;
const CHECKSUM_AT = 65;
/** Bytes of a version 1 record: no fencing token, no acquiredAt. */
const V1_BYTES = 49;
const LEASE_AT = 25;
const LEASE_CHARS = 24;
const FENCING_AT = 49;
const ACQUIRED_AT = 57;

/** One key as the data dir holds it. `blockedUntil` is 0 and `leaseId` undefined when free. */
export interface StoredRecord {
  readonly key: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly blockedUntil: number;
  readonly leaseId: string | undefined;
  /** The fencing token of the key's latest lease (0: never acquired, or a version 1 record). */
  readonly fencingToken: number;
  /** When the current lease began; undefined when free or in a version 1 record. */
  readonly acquiredAt: number | undefined;
}

/**
 * Encodes a key's state as a fixed 69-byte record (the key itself is the database key, and is
 * covered by the checksum, so a record moved under another key is caught too).
 * A fresh buffer every call: the engine may hold it until the write commits. O(1).
 */
export function encodeRecord(info: KeyInfo): Buffer {
  const buf = Buffer.alloc(RECORD_BYTES);
  buf[0] = RECORD_VERSION;
  buf.writeDoubleLE(info.createdAt, 1);
  buf.writeDoubleLE(info.expiresAt, 9);
  const blocked = info.state === "blocked" && info.leaseId !== undefined && info.blockedUntil !== undefined;
  buf.writeDoubleLE(blocked ? info.blockedUntil! : 0, 17);
  if (blocked) buf.write(info.leaseId!, LEASE_AT, LEASE_CHARS, "latin1");
  buf.writeDoubleLE(info.fencingToken ?? 0, FENCING_AT);
  buf.writeDoubleLE(blocked ? (info.acquiredAt ?? 0) : 0, ACQUIRED_AT);
  buf.writeUInt32LE(checksum(info.key, buf), CHECKSUM_AT);
  return buf;
}

/**
 * Decodes a record stored under `key` (version 3, or 2 or 1 as older servers wrote them);
 * undefined when the bytes are not a well-formed record (wrong size or version, a checksum that
 * does not match, non-finite times or token, malformed key or lease id). O(1).
 */
export function decodeRecord(key: string, buf: Buffer): StoredRecord | undefined {
  const v3 = buf.length === RECORD_BYTES && buf[0] === RECORD_VERSION;
  if (v3 && buf.readUInt32LE(CHECKSUM_AT) !== checksum(key, buf)) return undefined;
  const v2 = v3 || (buf.length === V2_BYTES && buf[0] === 2);
  if (!isKey(key) || !(v2 || (buf.length === V1_BYTES && buf[0] === 1))) return undefined;
  const createdAt = buf.readDoubleLE(1);
  const expiresAt = buf.readDoubleLE(9);
  const blockedUntil = buf.readDoubleLE(17);
  const fencingToken = v2 ? buf.readDoubleLE(FENCING_AT) : 0;
  const acquired = v2 ? buf.readDoubleLE(ACQUIRED_AT) : 0;
  if (!(createdAt >= 0 && expiresAt > 0 && blockedUntil >= 0 && acquired >= 0) || !Number.isFinite(expiresAt + blockedUntil + createdAt + acquired)) {
    return undefined;
  }
  if (!Number.isSafeInteger(fencingToken) || fencingToken < 0) return undefined;
  const common = { key, createdAt, expiresAt, blockedUntil, fencingToken };
  if (blockedUntil === 0) return { ...common, leaseId: undefined, acquiredAt: undefined };
  const leaseId = buf.toString("latin1", LEASE_AT, LEASE_AT + LEASE_CHARS);
  return isLeaseId(leaseId) ? { ...common, leaseId, acquiredAt: acquired > 0 ? acquired : undefined } : undefined;
}

/** CRC-32 of the key and the record's bytes before the checksum. O(1). */
function checksum(key: string, buf: Buffer): number {
  return crc32(buf.subarray(0, CHECKSUM_AT), crc32(key));
}
