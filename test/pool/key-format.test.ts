import { describe, expect, it } from "vitest";
import { assertKey, assertLeaseId, decodeToken, encodeToken, isGeneratedKey, isKey, isLeaseId, keyHash, redactKey } from "../../src/pool/key-format.js";
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
  { name: "a key of the generated shape", value: `kp_${VALID_TOKEN}`, key: true, leaseId: false },
  { name: "an imported API key", value: "sk-proj-Ab3$%&*+/=?^_`{|}~.,;:!#@[]()<>'\"\\", key: true, leaseId: false },
  { name: "a key of exactly 8 characters", value: "12345678", key: true, leaseId: false },
  { name: "a key of exactly 512 characters", value: "k".repeat(512), key: true, leaseId: false },
  { name: "a lease id of the documented shape (24 characters: a key too)", value: VALID_TOKEN, key: true, leaseId: true },
  { name: "an empty string", value: "", key: false, leaseId: false },
  { name: "a key of 7 characters", value: "1234567", key: false, leaseId: false },
  { name: "a key of 513 characters", value: "k".repeat(513), key: false, leaseId: false },
  { name: "a key with a space", value: `kp_ ${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a key with a tab", value: `kp_\t${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a key with a newline at the end", value: `kp_${VALID_TOKEN}\n`, key: false, leaseId: false },
  { name: "a key with DEL (0x7f)", value: `kp_${VALID_TOKEN}\x7f`, key: false, leaseId: false },
  { name: "a key with a NUL", value: `kp_\0${VALID_TOKEN}`, key: false, leaseId: false },
  { name: "a key with a non-ASCII character", value: `kp_é${VALID_TOKEN.slice(1)}`, key: false, leaseId: false },
  { name: "a lease id with a dot", value: `.${VALID_TOKEN.slice(1)}`, key: true, leaseId: false },
  { name: "a lease id one character short", value: VALID_TOKEN.slice(1), key: true, leaseId: false },
  { name: "a lease id in standard base64 (+)", value: `+${VALID_TOKEN.slice(1)}`, key: true, leaseId: false },
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

  it("tells generated keys from imported ones", () => {
    expect(isGeneratedKey(`kp_${VALID_TOKEN}`)).toBe(true);
    for (const other of [`kp_${VALID_TOKEN}A`, `kq_${VALID_TOKEN}`, `kp_+${VALID_TOKEN.slice(1)}`, "sk-proj-abcdefgh"]) {
      expect(isGeneratedKey(other), other).toBe(false);
      expect(isKey(other), other).toBe(true);
    }
  });

  it("explains the format, the length and the first bad character without echoing what the caller sent", () => {
    for (const c of SHAPES.filter((s) => s.value.length > 0 && !s.key)) {
      const message = errorOf(() => assertKey(c.value, "keys[3]")).message;
      expect(message, c.name).not.toContain(c.value);
      expect(message, c.name).toMatch(/^keys\[3\] is malformed .*a key is 8 to 512 characters of printable ASCII without spaces/);
    }
    expect(errorOf(() => assertKey("1234567", "keys[0]")).message).toMatch(/^keys\[0\] is malformed \(got 7 characters\)/);
    expect(errorOf(() => assertKey("abc defgh", "keys[1]")).message).toMatch(/^keys\[1\] is malformed \(got 9 characters; character 4 is not printable ASCII or is a space\)/);
    expect(errorOf(() => assertKey("")).message).toMatch(/^key is empty/);
    expect(errorOf(() => assertLeaseId("nope")).message).toMatch(/lease id is 24 characters of \[A-Za-z0-9_-\]/);
  });

  it("hashes every character, so keys that share a long prefix spread over a table's cells", () => {
    const random = seededRandom(9);
    expect(keyHash("sk-proj-abcdefgh")).toBe(keyHash("sk-proj-abcdefgh"));
    // 4,096 keys differing only in their last characters fill most of 4,096 cells, as random ones do.
    const cells = new Set<number>();
    for (let i = 0; i < 4096; i++) cells.add(keyHash(`sk-proj-${"x".repeat(40)}${i.toString(36)}`) & 4095);
    expect(cells.size).toBeGreaterThan(4096 * 0.6);
    const generated = new Set<number>();
    for (let i = 0; i < 4096; i++) generated.add(keyHash(keyStartingWith("", random)) & 4095);
    expect(generated.size).toBeGreaterThan(4096 * 0.6);
  });

  it("redacts a key for logs to a few characters, never the whole key", () => {
    const key = `kp_${VALID_TOKEN}`;
    expect(redactKey(key)).toBe("kp_aZ09…");
    expect(redactKey("sk-proj-0123456789abcdef")).toBe("sk-p…(24 chars)");
    expect(redactKey("short-secret")).toBe("<12 chars>");
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
