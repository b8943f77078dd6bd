import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

/**
 * Issue 13's request fields checked at the edge, before any store work: pool names on every RPC,
 * ReleaseKey's cooldown Duration, ListKeys' page size and state. Each answer is INVALID_ARGUMENT
 * naming the field.
 */
let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(() => t.close());

const KEY = "kp_AAAAAAAAAAAAAAAAAAAAAAAA";
const LEASE = "AAAAAAAAAAAAAAAAAAAAAAAA";
const dur = (seconds: bigint, nanos: number): Duration => ({ $typeName: "google.protobuf.Duration", seconds, nanos });

interface PoolCase { readonly rpc: string; readonly call: (pool: string) => Promise<unknown> }
const everyRpc = [
  { rpc: "GenerateKeys", call: (pool) => t.client.generateKeys({ pool, count: 1 }) },
  { rpc: "ImportKeys", call: (pool) => t.client.importKeys({ pool, keys: ["sk-imported-0001"] }) },
  { rpc: "ListKeys", call: (pool) => t.client.listKeys({ pool }) },
  { rpc: "AcquireKey", call: (pool) => t.client.acquireKey({ pool }) },
  { rpc: "ReleaseKey", call: (pool) => t.client.releaseKey({ pool, key: KEY }) },
  { rpc: "DeleteKey", call: (pool) => t.client.deleteKey({ pool, key: KEY }) },
  { rpc: "RenewLease", call: (pool) => t.client.renewLease({ pool, key: KEY, leaseId: LEASE }) },
  { rpc: "KeepAliveKey", call: (pool) => t.client.keepAliveKey({ pool, key: KEY }) },
  { rpc: "GetKey", call: (pool) => t.client.getKey({ pool, key: KEY }) },
  { rpc: "GetPoolStats", call: (pool) => t.client.getPoolStats({ pool }) },
] satisfies PoolCase[];

describe("pool names", () => {
  it.each(everyRpc)("$rpc refuses a malformed pool name, naming it and the rule", async ({ call }) => {
    const rule = "use 1 to 64 characters of [a-z0-9_.-]";
    const names = [
      ["OpenAI", `pool name "OpenAI" is invalid: ${rule}`],
      ["a b", `pool name "a b" is invalid: ${rule}`],
      ["x".repeat(65), `pool name of 65 characters is invalid: ${rule}`],
      // As long as a key: never echoed (a key pasted into pool must not come back or be logged).
      [`kp_${"A".repeat(24)}`, `pool name of 27 characters is invalid at character 4 ("A"): ${rule}`],
    ] as const;
    for (const [pool, details] of names) {
      await expect(call(pool)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details });
    }
  });

  it("a KeepAlive message with a malformed pool ends its stream with INVALID_ARGUMENT", async () => {
    const call = t.client.keepAlive();
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("error", () => {});
      call.on("status", resolve);
    });
    call.write({ keys: [KEY], pool: "Not/A/Pool" });
    expect(await status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'pool name of 10 characters is invalid at character 1 ("N"): use 1 to 64 characters of [a-z0-9_.-]' });
  });
});

interface CooldownCase { readonly name: string; readonly cooldown: Duration; readonly details: RegExp }
const badCooldowns = [
  { name: "negative nanos", cooldown: dur(1n, -1), details: /cooldown\.nanos must be from 0 to 999999999 \(got -1\)/ },
  { name: "nanos of a second or more", cooldown: dur(0n, 1_000_000_000), details: /cooldown\.nanos must be from 0 to 999999999/ },
  { name: "a negative cooldown", cooldown: dur(-5n, 0), details: /cooldown must be between 0 and 3600000 ms \(--max-cooldown; got -5000 ms\)/ },
  { name: "one past --max-cooldown", cooldown: dur(3600n, 1_000_000), details: /--max-cooldown; got 3600001 ms/ },
] satisfies CooldownCase[];

describe("ReleaseKey cooldown", () => {
  it.each(badCooldowns)("refuses $name with INVALID_ARGUMENT and leaves the key blocked", async ({ cooldown, details }) => {
    await t.client.generateKeys({ count: 1 });
    const { key } = await t.client.acquireKey({});
    await expect(t.client.releaseKey({ key: key!.key, leaseId: key!.leaseId, cooldown })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(details),
    });
    expect((await t.client.getKey({ key: key!.key })).key).toMatchObject({ state: KeyState.BLOCKED, leaseId: key!.leaseId });
  });
});

interface PageCase { readonly name: string; readonly request: { pageSize?: number; state?: KeyState; pageToken?: string }; readonly details: RegExp }
const badPages = [
  { name: "a page size over 1000", request: { pageSize: 1001 }, details: /page_size must be between 0 and 1000 \(got 1001\)/ },
  { name: "a state that is no KeyState", request: { state: 9 as KeyState }, details: /state 9 is not a KeyState/ },
  { name: "a page token this listing did not hand out", request: { pageToken: "bm90LWEtdG9rZW4" }, details: /page_token .*start the listing over/ },
] satisfies PageCase[];

describe("ListKeys arguments", () => {
  it.each(badPages)("refuses $name with INVALID_ARGUMENT", async ({ request, details }) => {
    await t.client.generateKeys({ count: 3 });
    for (const pool of ["", "never-made"]) {
      await expect(t.client.listKeys({ pool, ...request })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(details) });
    }
  });
});
