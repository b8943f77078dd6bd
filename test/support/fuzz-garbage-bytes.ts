import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import {
  AcquireKeyRequestSchema, DeleteKeyRequestSchema, GenerateKeysRequestSchema, GetKeyRequestSchema,
  GetPoolStatsRequestSchema, KeepAliveKeyRequestSchema, KeepAliveRequestSchema, ReleaseKeyRequestSchema,
} from "../../gen/keypool/v1/keypool_pb.js";
import { KEY_SHAPE, LEASE_SHAPE, malformedKey, wellFormedKey, wellFormedLease } from "./fuzz-arbitraries.js";
import type { MethodName } from "./fuzz-calls.js";

/** The request message of every KeyService method. */
export const REQUEST_SCHEMA: Readonly<Record<MethodName, DescMessage>> = {
  GenerateKeys: GenerateKeysRequestSchema, AcquireKey: AcquireKeyRequestSchema, ReleaseKey: ReleaseKeyRequestSchema,
  DeleteKey: DeleteKeyRequestSchema, KeepAliveKey: KeepAliveKeyRequestSchema, KeepAlive: KeepAliveRequestSchema,
  GetKey: GetKeyRequestSchema, GetPoolStats: GetPoolStatsRequestSchema,
};

/** Longest wait AcquireKey accepts (the proto: at most 5 minutes). */
const MAX_WAIT_MS = 300_000;
/** Longest cooldown ReleaseKey accepts from the test server (--max-cooldown's default, 1 h). */
const MAX_COOLDOWN_MS = 3_600_000;
/** A pool name (rules.ts POOL_NAME); "" and the default pool's name address the default pool. */
const POOL_SHAPE = /^[a-z0-9_.-]{1,64}$/;
const DEFAULT_POOL = "default";

/** `bytes` decoded as `method`'s request, or undefined when they are no such request. */
export function decodeRequest(method: MethodName, bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    return fromBinary(REQUEST_SCHEMA[method], bytes) as never;
  } catch {
    return undefined;
  }
}

/**
 * The pool a decoded request names, as the server resolves it: "default" for "" and the default
 * pool, the name for another well-formed pool, undefined for a malformed name. O(1).
 */
export function poolOf(request: Record<string, unknown>): string | undefined {
  const pool = (request.pool as string | undefined) ?? "";
  if (pool === "") return DEFAULT_POOL;
  return POOL_SHAPE.test(pool) ? pool : undefined;
}

/** A key field's content: unknown well-formed keys (never one the server made) or malformed ones. */
const keyText = fc.oneof(wellFormedKey, malformedKey(300));

/** Requests that parse, with field values around every documented bound, encoded. */
function validRequest(method: MethodName): fc.Arbitrary<Uint8Array> {
  const schema = REQUEST_SCHEMA[method];
  const init: fc.Arbitrary<object> = {
    GenerateKeys: fc.record({ count: fc.oneof(fc.integer({ min: 0, max: 1_001 }), fc.nat({ max: 0xffffffff })) }),
    AcquireKey: fc.record({
      wait: fc.option(fc.record({
        seconds: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        nanos: fc.integer({ min: -999_999_999, max: 999_999_999 }),
      })),
    }).map(({ wait }) => ({ wait: wait ?? undefined })),
    ReleaseKey: fc.record({ key: keyText, leaseId: fc.oneof(fc.constant(""), wellFormedLease, malformedKey(100)) }),
    DeleteKey: fc.record({ key: keyText }),
    KeepAliveKey: fc.record({ key: keyText }),
    KeepAlive: fc.record({ keys: fc.array(fc.oneof({ weight: 9, arbitrary: wellFormedKey }, { weight: 1, arbitrary: keyText }), { maxLength: 30 }) }),
    GetKey: fc.record({ key: keyText }),
    GetPoolStats: fc.constant({}),
  }[method];
  return init.map((value) => toBinary(schema, create(schema, value as never)));
}

/** Byte sequences that trip protobuf decoders: bad varints, lengths, wire types, groups, UTF-8. */
const NASTIES: readonly Uint8Array[] = [
  [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // an 11-byte varint
  [0x08, 0x80], // a varint cut short
  [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // a 4 GiB length
  [0x0a, 0x05, 0x61], // a length past the end
  [0x0e], [0x0f], [0x7e, 0x00], // wire types 6 and 7
  [0x00, 0x00], [0x02, 0x00], // field number 0
  [0x0c], [0x7c], // an end group with no start
  [0x0b, 0x14], // a start group ended by another field's end
  [0x0a, 0x02, 0xc3, 0x28], [0x0a, 0x01, 0xff], [0x0a, 0x02, 0xc0, 0x80], [0x0a, 0x03, 0xed, 0xa0, 0x80], // bad UTF-8
  [0x0d, 0x01, 0x02], [0x09, 0x01], // fixed32 and fixed64 cut short
  [0x0a, 0x00, 0x0a, 0x00, 0x0a, 0x00], // a string field repeated
  ...[1, 99, 100, 101, 1_000, 50_000].map((depth) => [...Array<number>(depth).fill(0x7b)]), // nested unknown groups
  ...[99, 100, 101].map((depth) => [...Array<number>(depth).fill(0x7b), ...Array<number>(depth).fill(0x7c)]),
].map((bytes) => Uint8Array.from(bytes));

/** Flips, cuts, inserts or splices bytes of `base`. */
function mutate(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.constantFrom("flip", "cut", "insert", "append", "nasty"), fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...NASTIES),
    )
    .map(([how, at, bytes, nasty]) => {
      const i = base.length === 0 ? 0 : at % base.length;
      const out = Array.from(base);
      if (how === "flip" && out.length > 0) out[i] = out[i]! ^ (bytes[0]! || 0x80);
      if (how === "cut") out.length = i;
      if (how === "insert") out.splice(i, 0, ...bytes);
      if (how === "append") out.push(...bytes);
      if (how === "nasty") out.splice(i, 0, ...nasty);
      return Uint8Array.from(out);
    });
}

/** Garbage for `method`: random bytes, mutated valid requests, decoder traps, runs of one byte. */
export function garbageFor(method: MethodName): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64, size: "max" }) },
    { weight: 4, arbitrary: validRequest(method).chain(mutate) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTIES) },
    { weight: 1, arbitrary: validRequest(method) },
    // Kept small: every kilobyte of tiny unknown fields costs the decoder (both sides) ~1.5 ms.
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 16_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
  );
}

/** A parsed wait in milliseconds, as the proto defines it (seconds and nanoseconds). */
function waitMs(seconds: bigint, nanos: number): number {
  return Number(seconds) * 1000 + Math.round(nanos / 1_000_000);
}

/**
 * What garbage `bytes` sent to `method` must come to: RESOURCE_EXHAUSTED past the size limit,
 * INVALID_ARGUMENT when they are not a valid request or a field breaks its documented shape, else
 * what the request means (nothing in garbage names a key the server made). O(bytes).
 */
export function expectForBytes(method: MethodName, bytes: Uint8Array, maxBytes: number): grpc.status[] {
  const S = grpc.status;
  if (bytes.length > maxBytes) return [S.RESOURCE_EXHAUSTED];
  const m = decodeRequest(method, bytes);
  if (!m) return [S.INVALID_ARGUMENT];
  const pool = poolOf(m);
  if (pool === undefined) return [S.INVALID_ARGUMENT];
  const badKey = (key: unknown): boolean => !KEY_SHAPE.test(key as string);
  switch (method) {
    case "GenerateKeys": return (m.count as number) > 1000 ? [S.INVALID_ARGUMENT] : [S.OK, S.RESOURCE_EXHAUSTED];
    case "AcquireKey": {
      const wait = m.wait as { seconds: bigint; nanos: number } | undefined;
      const ms = wait ? waitMs(wait.seconds, wait.nanos) : 0;
      const badNanos = wait !== undefined && (wait.nanos < 0 || wait.nanos > 999_999_999);
      if (badNanos || !Number.isFinite(ms) || ms < 0 || ms > MAX_WAIT_MS) return [S.INVALID_ARGUMENT];
      // The default pool is kept stocked (keepKeysFree); another pool holds only what garbage made.
      return pool === DEFAULT_POOL ? [S.OK] : [S.OK, S.NOT_FOUND];
    }
    case "ReleaseKey": {
      const lease = m.leaseId as string;
      const cooldown = m.cooldown as { seconds: bigint; nanos: number } | undefined;
      const badCooldown = cooldown !== undefined && (cooldown.nanos < 0 || cooldown.nanos > 999_999_999 ||
        !(Math.ceil(Number(cooldown.seconds) * 1000 + cooldown.nanos / 1_000_000) >= 0) ||
        Math.ceil(Number(cooldown.seconds) * 1000 + cooldown.nanos / 1_000_000) > MAX_COOLDOWN_MS);
      return badCooldown || badKey(m.key) || (lease !== "" && !LEASE_SHAPE.test(lease)) ? [S.INVALID_ARGUMENT] : [S.NOT_FOUND];
    }
    case "DeleteKey": case "KeepAliveKey": case "GetKey": return badKey(m.key) ? [S.INVALID_ARGUMENT] : [S.NOT_FOUND];
    case "KeepAlive": {
      const keys = m.keys as string[];
      const leases = m.leases as { key: string; leaseId: string }[];
      if (keys.length + leases.length > 1000 || keys.some(badKey)) return [S.INVALID_ARGUMENT];
      return leases.some((l) => badKey(l.key) || !LEASE_SHAPE.test(l.leaseId)) ? [S.INVALID_ARGUMENT] : [S.OK];
    }
    case "GetPoolStats": return [S.OK];
  }
}
