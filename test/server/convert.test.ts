import { create, equals, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyInfoSchema, KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { keyInfoMessage } from "../../src/server/convert.js";
import type { KeyInfo } from "../../src/pool/index.js";

const cases: KeyInfo[] = [
  { key: "kp_AAAAAAAAAAAAAAAAAAAAAAAA", state: "free", expiresAt: 1_700_000_300_000, createdAt: 1_700_000_000_000 },
  { key: "kp_BBBBBBBBBBBBBBBBBBBBBBBB", state: "blocked", leaseId: "C".repeat(24), blockedUntil: 1_700_000_060_001, expiresAt: 1_700_000_300_999, createdAt: 1_700_000_000_123 },
];

describe("KeyInfo on the wire", () => {
  it.each(cases)("the hand-built message of a $state key equals the reflective one, byte for byte", (info) => {
    const blocked = info.state === "blocked";
    const reference = create(KeyInfoSchema, {
      key: info.key,
      state: blocked ? KeyState.BLOCKED : KeyState.FREE,
      leaseId: info.leaseId ?? "",
      blockedUntil: info.blockedUntil === undefined ? undefined : timestampFromMs(info.blockedUntil),
      expiresAt: timestampFromMs(info.expiresAt),
      createdAt: timestampFromMs(info.createdAt),
      pool: "default",
    });
    const built = keyInfoMessage(info, "default");
    expect(equals(KeyInfoSchema, built, reference)).toBe(true);
    expect(Buffer.from(toBinary(KeyInfoSchema, built)).equals(Buffer.from(toBinary(KeyInfoSchema, reference)))).toBe(true);
  });
});
