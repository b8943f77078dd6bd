import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import { DEFAULT_POOL } from "../../src/store/pool-set.js";
import { DEFAULT_LIMITS } from "../../src/server/limits.js";
import { outcomeOf } from "../support/fuzz-calls.js";
import { runFuzz } from "../support/fuzz-harness.js";
import { importInput, listInput } from "../support/fuzz-pool-inputs.js";
import type { ImportInput, ListInput } from "../support/fuzz-pool-inputs.js";
import { PoolShadow } from "../support/fuzz-pool-shadow.js";
import { startTestServer, TEST_TTLS } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

/**
 * ImportKeys and ListKeys with random and hostile fields (key texts of 0 to 600 characters,
 * duplicates, batches past 1,000, pool names valid, shared and malformed, states past the enum,
 * page sizes past 1,000, page tokens handed out, foreign and garbage) against a server of at
 * most 6 pools of 1,500 keys: 24 runs of 25 calls in a row (time stands still), each answered
 * with the one status the documented checks give and details naming what was wrong; refused
 * calls change nothing, which the listings and the after-run scans prove.
 */
const RUNS = 24;
const MAX_POOLS = 6;
const MAX_KEYS = 1_500;

type Input = { readonly import: ImportInput } | { readonly list: ListInput };
const input: fc.Arbitrary<Input> = fc.oneof(importInput.map((i) => ({ import: i })), listInput.map((l) => ({ list: l })));

let t: TestServer;
let shadow: PoolShadow;
const counts = { import: 0, importOk: 0, list: 0, listOk: 0 };

beforeAll(async () => {
  t = await startTestServer({ maxPools: MAX_POOLS, maxKeys: MAX_KEYS });
  shadow = new PoolShadow({ defaultPool: DEFAULT_POOL, maxPools: MAX_POOLS, maxKeys: MAX_KEYS, maxBytes: DEFAULT_LIMITS.maxRequestBytes, ...TEST_TTLS });
  // Keys in every state of the default pool, so state filters have something to find and to skip.
  const held = shadow.pools.get(DEFAULT_POOL)!;
  for (const { key } of (await t.client.generateKeys({ count: 40 })).keys) held.set(key, KeyState.FREE);
  for (let i = 0; i < 12; i++) {
    const { key } = (await t.client.acquireKey({})).key!;
    held.set(key, KeyState.BLOCKED);
    if (i % 3 === 0) {
      await t.client.releaseKey({ key, cooldown: { seconds: 600n } });
      held.set(key, KeyState.COOLING);
    }
  }
});
afterAll(() => t?.close());

/** Every key of `pool` by a full listing of every state, in pages of 1,000. */
async function scan(pool: string): Promise<KeyInfo[]> {
  const keys: KeyInfo[] = [];
  let pageToken = "";
  do {
    const page = await t.client.listKeys({ pool, pageSize: 1_000, pageToken });
    keys.push(...page.keys);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return keys;
}

describe("fuzz: ImportKeys and ListKeys fields", () => {
  it("answers every call with the precise status, never echoing a key; refused calls change nothing", { timeout: 120_000 }, async () => {
    await runFuzz(fc.array(input, { minLength: 25, maxLength: 25 }), RUNS, async (calls) => {
      for (const call of calls) {
        if ("import" in call) {
          const c = shadow.importCase(call.import);
          shadow.checkImport(c, await outcomeOf(t.client.importKeys(c.request)), t.clock.now());
          counts.import++;
          if (c.verdict.code === grpc.status.OK) counts.importOk++;
        } else {
          const c = shadow.listCase(call.list);
          shadow.checkList(c, await outcomeOf(t.client.listKeys(c.request)));
          counts.list++;
          if (c.verdict.code === grpc.status.OK) counts.listOk++;
        }
      }
    });
    // Each kind of outcome was reached often enough to mean something.
    expect(counts.importOk).toBeGreaterThan(50);
    expect(counts.import - counts.importOk).toBeGreaterThan(150);
    expect(counts.listOk).toBeGreaterThan(80);
    expect(counts.list - counts.listOk).toBeGreaterThan(80);
    expect(shadow.pools.size).toBe(MAX_POOLS);
  });

  it("holds exactly the keys the answered imports added, in every pool, and no pool a refused call made", { timeout: 60_000 }, async () => {
    for (const [pool, held] of shadow.pools) {
      const listed = await scan(pool);
      expect(listed.map((k) => [k.key, k.state]).sort(), `the keys of pool ${pool}`).toEqual([...held].sort());
      const stats = await t.client.getPoolStats({ pool });
      expect(Number(stats.total)).toBe(held.size);
    }
    // Every pool slot not taken by a pool the shadow knows is free: refused calls made no pool.
    for (let i = shadow.pools.size; i < MAX_POOLS; i++) await t.client.generateKeys({ count: 1, pool: `late-${i}` });
    const extra = await outcomeOf(t.client.generateKeys({ count: 1, pool: "one-pool-too-many" }));
    expect([extra.code, extra.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, expect.stringContaining("--max-pools")]);
    console.log(`fuzz-pool-fields: ${JSON.stringify(counts)}; pools ${[...shadow.pools].map(([p, h]) => `${p} ${h.size}`).join(", ")}`);
  });
});
