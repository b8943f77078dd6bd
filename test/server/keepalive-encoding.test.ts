import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  KeepAliveRequestSchema,
  KeepAliveResponseSchema,
  KeepAliveResultSchema,
  LeaseRefSchema,
  LeaseResultSchema,
} from "../../gen/keypool/v1/keypool_pb.js";
import { DECODED_FIELDS, decodeKeepAliveRequest } from "../../src/server/keepalive-decoding.js";
import { ENCODED_FIELDS, encodeKeepAliveAnswer } from "../../src/server/keepalive-encoding.js";
import type { KeepAliveAnswer } from "../../src/server/keepalive-encoding.js";

const RUNS = { numRuns: 500, seed: 11 };
const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 600 });
const timestamp = fc.option(
  fc.record({ seconds: fc.bigInt({ min: 0n, max: 2n ** 45n }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }).map((t) => create(TimestampSchema, t)),
  { nil: undefined },
);
const answer = fc.record({
  results: fc.array(fc.record({ key: ascii, found: fc.boolean(), expiresAt: timestamp }).map((r) => create(KeepAliveResultSchema, r)), { maxLength: 20 }),
  leaseResults: fc.array(
    fc.record({ key: ascii, leaseId: ascii, renewed: fc.boolean(), blockedUntil: timestamp, expiresAt: timestamp, reason: ascii })
      .map((r) => create(LeaseResultSchema, r)),
    { maxLength: 20 },
  ),
});
const request = fc.record({
  keys: fc.array(ascii, { maxLength: 20 }),
  leases: fc.array(fc.record({ key: ascii, leaseId: ascii }).map((l) => create(LeaseRefSchema, l)), { maxLength: 20 }),
  pool: ascii,
}).map((r) => create(KeepAliveRequestSchema, r));

const generic = (a: KeepAliveAnswer): Buffer =>
  Buffer.from(toBinary(KeepAliveResponseSchema, create(KeepAliveResponseSchema, { results: [...a.results], leaseResults: [...a.leaseResults] })));
const fieldNames = (schema: DescMessage): string[] => schema.fields.map((f) => f.name);

describe("the KeepAlive stream's own codec", () => {
  it.each([
    [KeepAliveResponseSchema, ENCODED_FIELDS["keypool.v1.KeepAliveResponse"]],
    [KeepAliveResultSchema, ENCODED_FIELDS["keypool.v1.KeepAliveResult"]],
    [LeaseResultSchema, ENCODED_FIELDS["keypool.v1.LeaseResult"]],
    [TimestampSchema, ENCODED_FIELDS["google.protobuf.Timestamp"]],
    [KeepAliveRequestSchema, DECODED_FIELDS["keypool.v1.KeepAliveRequest"]],
    [LeaseRefSchema, DECODED_FIELDS["keypool.v1.LeaseRef"]],
  ] as const)("knows every field of %s (a new field must be coded by hand too)", (schema, known) => {
    expect(fieldNames(schema)).toEqual(known);
  });

  it("encodes any answer exactly as protobuf-es does", () => {
    fc.assert(
      fc.property(answer, (a) => {
        expect(encodeKeepAliveAnswer(a)?.equals(generic(a))).toBe(true);
      }),
      RUNS,
    );
  });

  it("leaves to the generic encoder what it does not write", () => {
    const ok = create(LeaseResultSchema, { key: "kp_x", leaseId: "l", renewed: true });
    const cases: KeepAliveAnswer[] = [
      { results: [], leaseResults: [{ ...ok, reason: "é" }] },
      { results: [create(KeepAliveResultSchema, { key: "kp_ключ", found: true })], leaseResults: [] },
      { results: [], leaseResults: [{ ...ok, expiresAt: create(TimestampSchema, { seconds: -1n }) }] },
      { results: [], leaseResults: [{ key: "kp_x" } as never] },
    ];
    for (const c of cases) expect(encodeKeepAliveAnswer(c)).toBeUndefined();
  });

  it("decodes any request exactly as protobuf-es does", () => {
    fc.assert(
      fc.property(request, (r) => {
        const bytes = Buffer.from(toBinary(KeepAliveRequestSchema, r));
        expect(decodeKeepAliveRequest(bytes)).toStrictEqual(fromBinary(KeepAliveRequestSchema, bytes, { readUnknownFields: false }));
      }),
      RUNS,
    );
  });

  it("decodes random bytes as protobuf-es does, or leaves them to it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const bytes = Buffer.from(raw);
        const fast = decodeKeepAliveRequest(bytes);
        if (fast !== undefined) expect(fast).toStrictEqual(fromBinary(KeepAliveRequestSchema, bytes, { readUnknownFields: false }));
      }),
      { numRuns: 5_000, seed: 11 },
    );
  });

  it("leaves to the generic decoder unknown fields, non-ASCII text and truncated bytes", () => {
    const base = create(KeepAliveRequestSchema, { keys: ["kp_a"], leases: [create(LeaseRefSchema, { key: "kp_b", leaseId: "id" })] });
    const bytes = Buffer.from(toBinary(KeepAliveRequestSchema, base));
    const cases = [
      Buffer.concat([bytes, Buffer.from([0x20, 0x01])]), // field 4, varint
      Buffer.from(toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys: ["kp_é"] }))),
      bytes.subarray(0, bytes.length - 1),
    ];
    for (const c of cases) expect(decodeKeepAliveRequest(c)).toBeUndefined();
  });
});
