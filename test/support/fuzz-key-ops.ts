import { create, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { KeyState, ReleaseKeyRequestSchema } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo as WireKeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo, KeyPoolErrorCode } from "../../src/pool/index.js";
import { STATUS_OF } from "../../src/server/status.js";
import type { Expected, ReferenceModel } from "../store/conformance/reference-model.js";
import { KEY_SHAPE, LEASE_SHAPE, malformedKey, malformedLease, wellFormedKey, wellFormedLease } from "./fuzz-arbitraries.js";
import { ContractViolation } from "./fuzz-calls.js";

/** The unary methods that name one key. */
export type KeyMethod = "ReleaseKey" | "DeleteKey" | "KeepAliveKey" | "GetKey";

type KeyChoice = { readonly s: string } | { readonly pick: number; readonly fresh: string };
type LeaseChoice = { readonly s: string } | { readonly current: true };

/** One generated call: a method, what to put in `key`, what in `lease_id` (ReleaseKey only). */
export interface KeyFieldInput {
  readonly method: KeyMethod;
  readonly key: KeyChoice;
  readonly lease: LeaseChoice;
}

/** Malformed keys, unknown well-formed keys, and picks among the keys the test knows. */
export function keyFieldInput(maxLong = 20_000): fc.Arbitrary<KeyFieldInput> {
  return fc.record({
    method: fc.constantFrom<KeyMethod>("ReleaseKey", "DeleteKey", "KeepAliveKey", "GetKey"),
    key: fc.oneof(
      { weight: 5, arbitrary: malformedKey(maxLong).map((s) => ({ s })) },
      { weight: 2, arbitrary: wellFormedKey.map((s) => ({ s })) },
      { weight: 3, arbitrary: fc.record({ pick: fc.nat(), fresh: wellFormedKey }) },
    ),
    lease: fc.oneof(
      { weight: 3, arbitrary: fc.constant({ s: "" }) },
      { weight: 2, arbitrary: malformedLease(maxLong).map((s) => ({ s })) },
      { weight: 2, arbitrary: wellFormedLease.map((s) => ({ s })) },
      { weight: 2, arbitrary: fc.constant({ current: true as const }) },
    ),
  });
}

/** A resolved call: the request and what the contract says it must come to. */
export interface KeyFieldCase {
  readonly method: KeyMethod;
  readonly key: string;
  readonly leaseId: string;
  readonly codes: readonly grpc.status[];
  /** For a call that must succeed: the key as the model holds it afterwards. */
  readonly info?: KeyInfo | undefined;
}

/** The server's one table: what each domain code must reach the client as. */
const CODE_OF: Readonly<Record<KeyPoolErrorCode, grpc.status>> = STATUS_OF;

/** The status an expected model outcome maps to, per the proto's documented errors. */
export function expectedCodes(expected: Expected<unknown>): grpc.status[] {
  return "ok" in expected ? [grpc.status.OK] : [CODE_OF[expected.code]];
}

/** The encoded size of a key request (ReleaseKey is the largest shape: key and lease id). */
export function requestBytes(key: string, leaseId: string): number {
  return toBinary(ReleaseKeyRequestSchema, create(ReleaseKeyRequestSchema, { key, leaseId })).length;
}

/**
 * Turns generated inputs into calls with exact expectations, applying each to `model` (time stands
 * still while a batch runs). A known key is used at most once per batch, so the concurrent calls
 * of a batch commute; a repeated pick falls back to an unknown key. O(batch).
 */
export function resolveBatch(
  batch: readonly KeyFieldInput[], model: ReferenceModel, known: readonly string[], now: number, maxBytes: number,
): KeyFieldCase[] {
  const used = new Set<string>();
  return batch.map(({ method, key: k, lease: l }) => {
    let key = "s" in k ? k.s : known[k.pick % known.length]!;
    if (!("s" in k) && used.has(key)) key = k.fresh;
    used.add(key);
    const current = KEY_SHAPE.test(key) ? model.get(key, now) : undefined;
    const currentLease = current && "ok" in current ? current.ok.leaseId : undefined;
    const leaseId = method !== "ReleaseKey" ? "" : "s" in l ? l.s : (currentLease ?? "");
    const size = method === "ReleaseKey" ? requestBytes(key, leaseId) : requestBytes(key, "");
    if (size > maxBytes) return { method, key, leaseId, codes: [grpc.status.RESOURCE_EXHAUSTED] };
    if (!KEY_SHAPE.test(key) || (leaseId !== "" && !LEASE_SHAPE.test(leaseId))) {
      return { method, key, leaseId, codes: [grpc.status.INVALID_ARGUMENT] };
    }
    const expected: Expected<KeyInfo | undefined> =
      method === "ReleaseKey" ? model.release(key, leaseId || undefined, now)
      : method === "DeleteKey" ? model.delete(key, now)
      : method === "KeepAliveKey" ? model.keepAlive(key, now)
      : model.get(key, now);
    return { method, key, leaseId, codes: expectedCodes(expected), info: "ok" in expected ? expected.ok : undefined };
  });
}

const ms = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

/** Throws unless the wire key equals the model's view of it, field by field. */
export function checkInfo(wire: WireKeyInfo | undefined, info: KeyInfo, what: string): void {
  const got = {
    key: wire?.key, state: wire?.state, leaseId: wire?.leaseId, blockedUntil: ms(wire?.blockedUntil),
    expiresAt: ms(wire?.expiresAt), createdAt: ms(wire?.createdAt),
  };
  const want = {
    key: info.key, state: info.state === "blocked" ? KeyState.BLOCKED : KeyState.FREE, leaseId: info.leaseId ?? "",
    blockedUntil: info.blockedUntil, expiresAt: info.expiresAt, createdAt: info.createdAt,
  };
  for (const field of Object.keys(want) as (keyof typeof want)[]) {
    if (got[field] !== want[field]) {
      const show = (v: unknown): string => (field === "key" ? "another key" : String(v));
      throw new ContractViolation(`${what}: ${field} is ${show(got[field])}, the model says ${show(want[field])}`);
    }
  }
}
