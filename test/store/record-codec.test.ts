import { describe, expect, it } from "vitest";
import { crc32 } from "node:zlib";
import { RECORD_BYTES, decodeRecord, encodeRecord, parseRecordKey, recordKey } from "../../src/store/durable/record-codec.js";

const KEY = `kp_${"A".repeat(23)}a`;
const LEASE = "R".repeat(24);
const T = 1_700_000_000_000;

/** A record as a version 1 server (before fencing tokens) wrote it: 49 bytes. */
function v1Record(blockedUntil: number, lease?: string): Buffer {
  const buf = Buffer.alloc(49);
  buf[0] = 1;
  buf.writeDoubleLE(T, 1);
  buf.writeDoubleLE(T + 300_000, 9);
  buf.writeDoubleLE(blockedUntil, 17);
  if (lease) buf.write(lease, 25, 24, "latin1");
  return buf;
}

describe("durable records", () => {
  it("keep the fencing token (also of a free key) and acquired_at through a write and a read", () => {
    const blocked = { key: KEY, state: "blocked", leaseId: LEASE, blockedUntil: T + 60_000, expiresAt: T + 300_000, createdAt: T, fencingToken: 42, acquiredAt: T + 5 } as const;
    const buf = encodeRecord(blocked);
    expect(buf).toHaveLength(RECORD_BYTES);
    expect(decodeRecord(KEY, buf)).toEqual({
      key: KEY, pool: "", createdAt: T, expiresAt: T + 300_000, blockedUntil: T + 60_000, leaseId: LEASE, fencingToken: 42, acquiredAt: T + 5, cooldownUntil: 0,
    });
    const free = encodeRecord({ key: KEY, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 43 });
    expect(decodeRecord(KEY, free)).toMatchObject({ blockedUntil: 0, leaseId: undefined, fencingToken: 43, acquiredAt: undefined });
  });

  it("still read version 1 records (written before fencing tokens): token 0, acquired_at unknown", () => {
    expect(decodeRecord(KEY, v1Record(T + 60_000, LEASE))).toEqual({
      key: KEY, pool: "", createdAt: T, expiresAt: T + 300_000, blockedUntil: T + 60_000, leaseId: LEASE, fencingToken: 0, acquiredAt: undefined,
      cooldownUntil: 0,
    });
    expect(decodeRecord(KEY, v1Record(0))).toMatchObject({ leaseId: undefined, fencingToken: 0 });
  });

  it("refuse records of a wrong size or version, or with a token that is not a whole number", () => {
    const good = encodeRecord({ key: KEY, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 1 });
    expect(decodeRecord(KEY, good.subarray(0, 60))).toBeUndefined();
    expect(decodeRecord(KEY, Buffer.concat([Buffer.from([9]), good.subarray(1)]))).toBeUndefined();
    const v1Sized = Buffer.from(good.subarray(0, 49));
    expect(decodeRecord(KEY, v1Sized), "a version 4 header on a version 1 size").toBeUndefined();
    const badToken = Buffer.from(good);
    badToken.writeDoubleLE(1.5, 49);
    expect(decodeRecord(KEY, badToken)).toBeUndefined();
  });

  it("refuse a record whose checksum does not match: any flipped bit, or a record read under another key", () => {
    const good = encodeRecord({ key: KEY, state: "blocked", leaseId: LEASE, blockedUntil: T + 60_000, expiresAt: T + 300_000, createdAt: T, fencingToken: 7, acquiredAt: T });
    for (let bit = 0; bit < good.length * 8; bit += 5) {
      const flipped = Buffer.from(good);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(decodeRecord(KEY, flipped), `bit ${bit}`).toBeUndefined();
    }
    expect(decodeRecord(`kp_${"B".repeat(23)}a`, good)).toBeUndefined();
  });

  it("still read version 2 records (written before the checksum)", () => {
    const v2 = Buffer.from(encodeRecord({ key: KEY, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 5 }).subarray(0, 65));
    v2[0] = 2;
    expect(decodeRecord(KEY, v2)).toMatchObject({ expiresAt: T + 300_000, fencingToken: 5, leaseId: undefined });
  });

  it("keep a cooling key's cooldown, and read version 3 records (before cooldowns) as not cooling", () => {
    const cooling = { key: KEY, state: "cooling", expiresAt: T + 300_000, createdAt: T, fencingToken: 3, cooldownUntil: T + 30_000 } as const;
    expect(decodeRecord(KEY, encodeRecord(cooling))).toMatchObject({ blockedUntil: 0, cooldownUntil: T + 30_000, fencingToken: 3 });
    // A version 3 record: the first 65 bytes of version 4, then its checksum over them.
    const v4 = encodeRecord({ key: KEY, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 9 });
    const v3 = Buffer.alloc(69);
    v4.copy(v3, 0, 0, 65);
    v3[0] = 3;
    v3.writeUInt32LE(crc32(v3.subarray(0, 65), crc32(KEY)), 65);
    expect(decodeRecord(KEY, v3)).toMatchObject({ key: KEY, pool: "", fencingToken: 9, cooldownUntil: 0 });
  });

  it("name keys outside the default pool by pool and key, checked by the checksum; the default pool keeps bare keys", () => {
    const imported = "sk-proj-imported-secret";
    expect(recordKey("", KEY)).toBe(KEY);
    const record = recordKey("openai", imported);
    expect(record).toBe("\x01openai\x01sk-proj-imported-secret");
    expect(parseRecordKey(record)).toEqual({ pool: "openai", key: imported });
    const buf = encodeRecord({ key: imported, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 0 }, record);
    expect(decodeRecord(record, buf)).toMatchObject({ key: imported, pool: "openai" });
    expect(decodeRecord(recordKey("other", imported), buf), "moved to another pool").toBeUndefined();
    expect(decodeRecord(imported, buf), "moved to the default pool").toBeUndefined();
    for (const bad of ["\x01openai", "\x01Bad Pool\x01sk-proj-imported-secret", "\x01openai\x01short", "bare key"]) {
      expect(parseRecordKey(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
