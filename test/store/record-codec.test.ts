import { describe, expect, it } from "vitest";
import { RECORD_BYTES, decodeRecord, encodeRecord } from "../../src/store/durable/record-codec.js";

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
    expect(decodeRecord(KEY, buf)).toEqual({ key: KEY, createdAt: T, expiresAt: T + 300_000, blockedUntil: T + 60_000, leaseId: LEASE, fencingToken: 42, acquiredAt: T + 5 });
    const free = encodeRecord({ key: KEY, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 43 });
    expect(decodeRecord(KEY, free)).toMatchObject({ blockedUntil: 0, leaseId: undefined, fencingToken: 43, acquiredAt: undefined });
  });

  it("still read version 1 records (written before fencing tokens): token 0, acquired_at unknown", () => {
    expect(decodeRecord(KEY, v1Record(T + 60_000, LEASE))).toEqual({
      key: KEY, createdAt: T, expiresAt: T + 300_000, blockedUntil: T + 60_000, leaseId: LEASE, fencingToken: 0, acquiredAt: undefined,
    });
    expect(decodeRecord(KEY, v1Record(0))).toMatchObject({ leaseId: undefined, fencingToken: 0 });
  });

  it("refuse records of a wrong size or version, or with a token that is not a whole number", () => {
    const good = encodeRecord({ key: KEY, state: "free", expiresAt: T + 300_000, createdAt: T, fencingToken: 1 });
    expect(decodeRecord(KEY, good.subarray(0, 60))).toBeUndefined();
    expect(decodeRecord(KEY, Buffer.concat([Buffer.from([9]), good.subarray(1)]))).toBeUndefined();
    const v1Sized = Buffer.from(good.subarray(0, 49));
    expect(decodeRecord(KEY, v1Sized), "a version 3 header on a version 1 size").toBeUndefined();
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
});
