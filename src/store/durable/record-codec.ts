import { isKey, isLeaseId } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";

/** The layout version written in byte 0 of every record. */
export const RECORD_VERSION = 1;
/** Bytes of one encoded record: version, three float64 times, a 24-byte lease id. */
export const RECORD_BYTES = 49;
const LEASE_AT = 25;
const LEASE_CHARS = 24;

/** One key as the data dir holds it. `blockedUntil` is 0 and `leaseId` undefined when free. */
export interface StoredRecord {
  readonly key: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly blockedUntil: number;
  readonly leaseId: string | undefined;
}

/**
 * Encodes a key's state as a fixed 49-byte record (the key itself is the database key).
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
  return buf;
}

/**
 * Decodes a record stored under `key`; undefined when the bytes are not a well-formed record
 * (wrong size or version, non-finite times, malformed key or lease id). O(1).
 */
export function decodeRecord(key: string, buf: Buffer): StoredRecord | undefined {
  if (!isKey(key) || buf.length !== RECORD_BYTES || buf[0] !== RECORD_VERSION) return undefined;
  const createdAt = buf.readDoubleLE(1);
  const expiresAt = buf.readDoubleLE(9);
  const blockedUntil = buf.readDoubleLE(17);
  if (!(createdAt >= 0 && expiresAt > 0 && blockedUntil >= 0) || !Number.isFinite(expiresAt + blockedUntil + createdAt)) {
    return undefined;
  }
  if (blockedUntil === 0) return { key, createdAt, expiresAt, blockedUntil, leaseId: undefined };
  const leaseId = buf.toString("latin1", LEASE_AT, LEASE_AT + LEASE_CHARS);
  return isLeaseId(leaseId) ? { key, createdAt, expiresAt, blockedUntil, leaseId } : undefined;
}
