import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { seededRandom } from "../../src/random.js";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";

/**
 * Issue 13: a ListKeys scan of 10^5 keys while 10 clients generate, acquire, release and delete
 * returns every stable key (present for the whole scan) exactly once, over gRPC against a real
 * `keypool serve` (memory store).
 */
type Client = TypedClient<typeof KeyService>;
const STABLE = 100_000;
const POOL = "scan";
const CHURNERS = 10;

afterAll(() => killAll());

/** One churning client until `stop`: generates keys, acquires and releases any key, deletes its own. */
async function churn(client: Client, seed: number, stop: { done: boolean }): Promise<{ ops: number; deleted: Set<string> }> {
  const random = seededRandom(seed);
  const mine: string[] = [];
  const deleted = new Set<string>();
  let ops = 0;
  while (!stop.done) {
    const roll = random.int(10);
    try {
      if (roll < 3) {
        mine.push(...(await client.generateKeys({ pool: POOL, count: 5 })).keys.map((k) => k.key));
      } else if (roll < 7) {
        const { key } = await client.acquireKey({ pool: POOL });
        await client.releaseKey({ pool: POOL, key: key!.key, leaseId: key!.leaseId });
      } else if (mine.length > 0) {
        const key = mine.splice(random.int(mine.length), 1)[0]!;
        await client.deleteKey({ pool: POOL, key });
        deleted.add(key);
      }
      ops++;
    } catch (err) {
      // Another churner may hold every key a moment: NOT_FOUND for an acquire is an answer, not a fault.
      if ((err as grpc.ServiceError).code !== grpc.status.NOT_FOUND) throw err;
    }
  }
  return { ops, deleted };
}

describe("ListKeys scan end to end", () => {
  it("a scan of 10^5 keys while 10 clients generate, acquire and delete returns every stable key exactly once", async () => {
    const p = spawnKeypool(["serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "info"]);
    const { port } = await logLine(p.child, (line) => typeof line.port === "number");
    const address = `127.0.0.1:${port}`;
    const scanner = createTypedClient(KeyService, address);
    const churners = Array.from({ length: CHURNERS }, () => createTypedClient(KeyService, address, undefined, { "grpc.use_local_subchannel_pool": 1 }));
    try {
      const stable = new Set<string>();
      for (let i = 0; i < STABLE; i += 1000) {
        for (const k of (await scanner.generateKeys({ pool: POOL, count: 1000 })).keys) stable.add(k.key);
      }
      const stop = { done: false };
      const churning = churners.map((c, i) => churn(c, i + 1, stop));
      const seen = new Map<string, number>();
      let pages = 0;
      let token = "";
      do {
        const page = await scanner.listKeys({ pool: POOL, pageSize: 1000, pageToken: token });
        for (const k of page.keys) seen.set(k.key, (seen.get(k.key) ?? 0) + 1);
        token = page.nextPageToken;
        pages++;
      } while (token !== "");
      stop.done = true;
      const churned = await Promise.all(churning);
      const ops = churned.reduce((n, c) => n + c.ops, 0);
      console.log(`list scan: ${STABLE} stable keys, ${seen.size} keys seen in ${pages} pages while ${CHURNERS} clients made ${ops} calls`);
      expect(ops, "the pool changed during the scan").toBeGreaterThan(CHURNERS);
      expect([...stable].filter((k) => seen.get(k) !== 1), "stable keys not seen exactly once").toEqual([]);
      expect([...seen].filter(([, n]) => n > 1), "keys seen twice").toEqual([]);
    } finally {
      scanner.close();
      churners.forEach((c) => c.close());
    }
  }, 120_000);
});
