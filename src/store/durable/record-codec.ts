import { crc32 } from "node:zlib";
import { isKey, isLeaseId, isPoolName } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";

/**
 * The layout version written in byte 0 of every record (1: before fencing tokens, 2: before the
 * checksum, 3: before cooldowns; all still read). A new field goes before the checksum, with a
 * new version.
 */
export const RECORD_VERSION = 4;
/**
 * Bytes of one encoded record: version, three float64 times, a 24-byte lease id, fencing token,
 * acquiredAt, cooldownUntil, and a CRC-32 of the record key and everything before it.
 */
export const RECORD_BYTES = 77;
/** Bytes of a version 3 record: no cooldown. */
const V3_BYTES = 69;
const V3_CHECKSUM_AT = 65;
/** Bytes of a version 2 record: no checksum. */
const V2_BYTES = 65;
const COOLDOWN_AT = 65;
const CHECKSUM_AT = 73;
/** Brackets the pool name in the record key of a key outside the default pool. */
const POOL_MARK = "\x01";
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
  /** When a cooling key becomes free; 0 when not cooling (and in records before version 4). */
  readonly cooldownUntil: number;
  /** The pool the key belongs to: "" for the default pool (a bare record key). */
  readonly pool: string;
}

/**
 * The database key of `key` in `pool` ("" = the default pool): the bare key for the default
 * pool, so data dirs from before pools open unchanged as the default pool; `\x01pool\x01key`
 * otherwise (keys are printable ASCII, so no key starts with \x01). O(1).
 */
export function recordKey(pool: string, key: string): string {
  return pool === "" ? key : `${POOL_MARK}${pool}${POOL_MARK}${key}`;
}

/** The pool ("" = default) and key a record key names, or undefined when it is malformed. O(1). */
export function parseRecordKey(record: string): { pool: string; key: string } | undefined {
  if (!record.startsWith(POOL_MARK)) return isKey(record) ? { pool: "", key: record } : undefined;
  const end = record.indexOf(POOL_MARK, 1);
  if (end === -1) return undefined;
  const pool = record.slice(1, end);
  const key = record.slice(end + 1);
  return isPoolName(pool) && isKey(key) ? { pool, key } : undefined;
}

/**
 * Encodes a key's state as a fixed 77-byte record; `record` is its database key (`recordKey`,
 * default: the bare key), covered by the checksum, so a record moved under another key is
 * caught too. A fresh buffer every call: the engine may hold it until the write commits. O(1).
 */
export function encodeRecord(info: KeyInfo, record: string = info.key): Buffer {
  const buf = Buffer.alloc(RECORD_BYTES);
  buf[0] = RECORD_VERSION;
  buf.writeDoubleLE(info.createdAt, 1);
  buf.writeDoubleLE(info.expiresAt, 9);
  const blocked = info.state === "blocked" && info.leaseId !== undefined && info.blockedUntil !== undefined;
  buf.writeDoubleLE(blocked ? info.blockedUntil! : 0, 17);
  if (blocked) buf.write(info.leaseId!, LEASE_AT, LEASE_CHARS, "latin1");
  buf.writeDoubleLE(info.fencingToken ?? 0, FENCING_AT);
  buf.writeDoubleLE(blocked ? (info.acquiredAt ?? 0) : 0, ACQUIRED_AT);
  buf.writeDoubleLE(info.state === "cooling" ? (info.cooldownUntil ?? 0) : 0, COOLDOWN_AT);
  buf.writeUInt32LE(checksum(record, buf, CHECKSUM_AT), CHECKSUM_AT);
  return buf;
}

/**
 * Decodes a record stored under the database key `record` (version 4, or 3, 2 or 1 as older
 * servers wrote them); undefined when the bytes are not a well-formed record (wrong size or
 * version, a checksum that does not match, non-finite times or token, malformed record key, key
 * or lease id). O(1).
 */
export function decodeRecord(record: string, buf: Buffer): StoredRecord | undefined {
  const named = parseRecordKey(record);
  const v4 = buf.length === RECORD_BYTES && buf[0] === RECORD_VERSION;
  const v3 = v4 || (buf.length === V3_BYTES && buf[0] === 3);
  const checksumAt = v4 ? CHECKSUM_AT : V3_CHECKSUM_AT;
  if (v3 && buf.readUInt32LE(checksumAt) !== checksum(record, buf, checksumAt)) return undefined;
  const v2 = v3 || (buf.length === V2_BYTES && buf[0] === 2);
  if (!named || !(v2 || (buf.length === V1_BYTES && buf[0] === 1))) return undefined;
  const { pool, key } = named;
  const createdAt = buf.readDoubleLE(1);
  const expiresAt = buf.readDoubleLE(9);
  const blockedUntil = buf.readDoubleLE(17);
  const fencingToken = v2 ? buf.readDoubleLE(FENCING_AT) : 0;
  const acquired = v2 ? buf.readDoubleLE(ACQUIRED_AT) : 0;
  const cooldownUntil = v4 ? buf.readDoubleLE(COOLDOWN_AT) : 0;
  const times = [createdAt, expiresAt, blockedUntil, acquired, cooldownUntil];
  if (expiresAt <= 0 || times.some((t) => !(t >= 0) || !Number.isFinite(t))) return undefined;
  if (!Number.isSafeInteger(fencingToken) || fencingToken < 0 || (cooldownUntil > 0 && blockedUntil > 0)) return undefined;
  const common = { key, pool, createdAt, expiresAt, blockedUntil, fencingToken, cooldownUntil };
  if (blockedUntil === 0) return { ...common, leaseId: undefined, acquiredAt: undefined };
  const leaseId = buf.toString("latin1", LEASE_AT, LEASE_AT + LEASE_CHARS);
  return isLeaseId(leaseId) ? { ...common, leaseId, acquiredAt: acquired > 0 ? acquired : undefined } : undefined;
}

/** CRC-32 of the record key and the record's bytes before the checksum (at `at`). O(1). */
function checksum(record: string, buf: Buffer, at: number): number {
  return crc32(buf.subarray(0, at), crc32(record));
}
