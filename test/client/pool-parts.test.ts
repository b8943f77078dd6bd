import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { KeyInfoSchema, KeyState, ListKeysResponseSchema } from "../../gen/keypool/v1/keypool_pb.js";
import type { ListKeysResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { keepAliveBatches, KEYS_PER_KEEPALIVE } from "../../src/client/keepalive-batches.js";
import type { KeepAliveEntry } from "../../src/client/keepalive-batches.js";
import { listPages } from "../../src/client/key-listing.js";
import { keyTarget } from "../../src/client/key-ref.js";
import { KeyPoolClientError } from "../../src/index.js";
import type { PoolKey } from "../../src/index.js";

describe("keepAliveBatches: one pool per KeepAlive request", () => {
  it("groups keys and leases per pool, at most 1000 entries a request, order kept within a pool", () => {
    const entries: KeepAliveEntry[] = [];
    for (let i = 0; i < 2_500; i++) entries.push({ pool: i % 2 ? "openai" : "", key: `key-${String(i).padStart(5, "0")}`, ...(i % 5 === 0 ? { leaseId: `lease-${i}` } : {}) });
    entries.push({ pool: "gemini", key: "key-gemini" });
    const batches = keepAliveBatches(entries);
    expect(batches.map((b) => [b.pool, b.keys.length + b.leases.length])).toEqual([
      ["", 1_000], ["", 250], ["openai", 1_000], ["openai", 250], ["gemini", 1],
    ]);
    for (const batch of batches) {
      expect(batch.keys.length + batch.leases.length).toBeLessThanOrEqual(KEYS_PER_KEEPALIVE);
      const mine = entries.filter((e) => e.pool === batch.pool);
      for (const key of batch.keys) expect(mine.find((e) => e.key === key)?.leaseId).toBeUndefined();
      for (const lease of batch.leases) expect(mine.find((e) => e.key === lease.key)?.leaseId).toBe(lease.leaseId);
    }
    const sent = batches.filter((b) => b.pool === "openai").flatMap((b) => [...b.keys, ...b.leases.map((l) => l.key)]).sort();
    expect(sent).toEqual(entries.filter((e) => e.pool === "openai").map((e) => e.key).sort());
  });

  it("sends nothing for nothing", () => expect(keepAliveBatches([])).toEqual([]));
});

const leased: PoolKey = {
  key: "sk-live-0123456789", pool: "openai", state: "blocked", leaseId: "A".repeat(24), blockedUntil: 2, expiresAt: 3,
  createdAt: 1, fencingToken: 1, acquiredAt: 1, cooldownUntil: undefined,
};

describe("keyTarget: where a call naming a key goes", () => {
  interface Case {
    readonly name: string;
    readonly ref: string | PoolKey;
    readonly pool?: string;
    readonly target: { key: string; pool: string } | "INVALID_ARGUMENT";
  }
  const cases = [
    { name: "a string, no pool: the default pool", ref: "sk-live-0123456789", target: { key: "sk-live-0123456789", pool: "" } },
    { name: "a string and a pool", ref: "sk-live-0123456789", pool: "gemini", target: { key: "sk-live-0123456789", pool: "gemini" } },
    { name: "a PoolKey carries its pool", ref: leased, target: { key: leased.key, pool: "openai" } },
    { name: "a PoolKey and its own pool named again", ref: leased, pool: "openai", target: { key: leased.key, pool: "openai" } },
    { name: "a PoolKey and an empty pool option", ref: leased, pool: "", target: { key: leased.key, pool: "openai" } },
    { name: "a PoolKey and another pool", ref: leased, pool: "gemini", target: "INVALID_ARGUMENT" },
  ] satisfies Case[];

  it("resolves every case", () => {
    for (const c of cases) {
      const options = "pool" in c ? { pool: c.pool } : undefined;
      let got: Case["target"];
      try {
        got = keyTarget(c.ref, options, "GetKey");
      } catch (err) {
        got = (err as KeyPoolClientError).code as "INVALID_ARGUMENT";
        expect((err as Error).message).not.toContain(leased.key);
      }
      expect({ name: c.name, got }).toEqual({ name: c.name, got: c.target });
    }
  });
});

/** A listing server in miniature: `pages[token]` answers the call with that page token. */
function fetcher(pages: Record<string, { keys: string[]; next: string }>): { fetch: (token: string) => Promise<ListKeysResponse>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    fetch: async (token) => {
      asked.push(token);
      const page = pages[token]!;
      return create(ListKeysResponseSchema, {
        keys: page.keys.map((key) => create(KeyInfoSchema, { key, pool: "openai", state: KeyState.FREE })),
        nextPageToken: page.next,
      });
    },
  };
}

async function collect(pages: AsyncIterable<PoolKey[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const page of pages) out.push(page.map((k) => k.key));
  return out;
}

describe("listPages: following page tokens", () => {
  it("follows tokens through short and empty pages until the token is empty, yielding only pages with keys", async () => {
    const { fetch, asked } = fetcher({
      "": { keys: ["k-00000001", "k-00000002"], next: "t1" },
      t1: { keys: [], next: "t2" },
      t2: { keys: [], next: "t3" },
      t3: { keys: ["k-00000003"], next: "" },
    });
    expect(await collect(listPages(fetch))).toEqual([["k-00000001", "k-00000002"], ["k-00000003"]]);
    expect(asked).toEqual(["", "t1", "t2", "t3"]);
  });

  it("an empty pool is one call and no page", async () => {
    const { fetch, asked } = fetcher({ "": { keys: [], next: "" } });
    expect(await collect(listPages(fetch))).toEqual([]);
    expect(asked).toEqual([""]);
  });

  it("asks for a page only when the loop wants it: breaking out stops the listing", async () => {
    const { fetch, asked } = fetcher({ "": { keys: ["k-00000001"], next: "t1" }, t1: { keys: ["k-00000002"], next: "" } });
    for await (const page of listPages(fetch)) {
      expect(page.map((k) => k.pool)).toEqual(["openai"]);
      break;
    }
    expect(asked).toEqual([""]);
  });

  it("a token that does not move is INTERNAL, not a loop forever", async () => {
    const { fetch } = fetcher({ "": { keys: [], next: "t1" }, t1: { keys: [], next: "t1" } });
    await expect(collect(listPages(fetch))).rejects.toMatchObject({ code: "INTERNAL", method: "ListKeys" });
  });
});
