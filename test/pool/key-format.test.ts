import { describe, expect, it } from "vitest";
import { assertKey, assertLeaseId, decodeToken, encodeToken, isKey, isLeaseId, keyHash, redactKey } from "../../src/pool/key-format.js";
import { seededRandom } from "../../src/random.js";
import { errorOf, keyStartingWith } from "./pool-fixtures.js";

interface ShapeCase {
  readonly name: string;
  readonly value: string;
  readonly key: boolean;
  readonly leaseId: boolean;
}

const VALID_TOKEN = "aZ09-_aZ09-_aZ09-_aZ09-_";

/** Strings a caller may send as a key or a lease id, and whether each is well-formed. */
const SHAPES = [
  { name: "a key of the documented shape", value: `kp_${VALID_TOKEN}`, key: true, leaseId: false },
  { name: "a lease id of the documented shape", value: VALID_TOKEN, key: false, leaseId: true },
  { name: "an empty string", value: "", key: false, leaseId: false },
  { name: "a key one character short", value: `kp_${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a key one character long", value: `kp_${VALID_TOKEN}A`, key: false, leaseId: false },
  { name: "a key with another prefix", value: `kq_${VALID_TOKEN}`, key: false, leaseId: false },
  { name: "a key with an upper-case prefix", value: `KP_${VALID_TOKEN}`, key: false, leaseId: false },
  { name: "a key in standard base64 (+)", value: `kp_+${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a key in standard base64 (/)", value: `kp_${VALID_TOKEN.slice(1)}/`, key: false, leaseId: false },
  { name: "a key with padding", value: `kp_${VALID_TOKEN.slice(1)}=`, key: false, leaseId: false },
  { name: "a key with a non-ASCII character", value: `kp_é${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a key with a space", value: `kp_ ${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a lease id with a dot", value: `.${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a lease id one character short", value: VALID_TOKEN.slice(1), key: false, leaseId: false },
] satisfies ShapeCase[];

describe("key and lease id format", () => {
  it("accepts exactly the documented shapes and rejects the rest with INVALID_ARGUMENT", () => {
    for (const c of SHAPES) {
      expect(isKey(c.value), c.name).toBe(c.key);
      expect(isLeaseId(c.value), c.name).toBe(c.leaseId);
      if (c.key) expect(() => assertKey(c.value), c.name).not.toThrow();
      else expect(errorOf(() => assertKey(c.value)).code, c.name).toBe("invalid-argument");
      if (c.leaseId) expect(() => assertLeaseId(c.value), c.name).not.toThrow();
      else expect(errorOf(() => assertLeaseId(c.value)).code, c.name).toBe("invalid-argument");
    }
  });

  it("explains the expected shape without echoing what the caller sent", () => {
    for (const c of SHAPES.filter((s) => s.value.length > 0 && !s.key)) {
      const message = errorOf(() => assertKey(c.value, "keys[3]")).message;
      expect(message, c.name).not.toContain(c.value);
      expect(message, c.name).toMatch(/^keys\[3\] is malformed .*"kp_" followed by 24 characters of \[A-Za-z0-9_-\]/);
    }
    expect(errorOf(() => assertKey("")).message).toMatch(/^key is empty/);
    expect(errorOf(() => assertLeaseId("nope")).message).toMatch(/lease id is 24 characters of \[A-Za-z0-9_-\]/);
  });

  it("hashes a key by its first five random characters only", () => {
    const random = seededRandom(9);
    expect(keyHash(keyStartingWith("Ab3_-", random))).toBe(keyHash(keyStartingWith("Ab3_-", random)));
    expect(keyHash(keyStartingWith("Ab3_-", random))).not.toBe(keyHash(keyStartingWith("Ab3_A", random)));
    expect(keyHash(keyStartingWith("_____", random))).toBe(2 ** 30 - 1);
    expect(keyHash(keyStartingWith("AAAAA", random))).toBe(0);
  });

  it("redacts a key for logs to its prefix and four characters", () => {
    const key = `kp_${VALID_TOKEN}`;
    expect(redactKey(key)).toBe("kp_aZ09…");
    expect(redactKey("not a key")).toBe("<9 chars>");
  });
});

describe("lease ids kept as bytes", () => {
  it("decode(encode(bytes)) gives the same 18 bytes back, for 1,000 random tokens", () => {
    const random = seededRandom(99);
    const bytes = new Uint8Array(18);
    const back = new Uint8Array(20);
    for (let i = 0; i < 1000; i++) {
      random.fill(bytes);
      const token = encodeToken(bytes, 0);
      expect(isLeaseId(token)).toBe(true);
      decodeToken(token, back, 2);
      expect([...back.subarray(2)]).toEqual([...bytes]);
    }
  });
});
