import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirFixture, makeTempDir } from "../support/durable-dirs.js";
import { startTestServer } from "../support/test-server.js";

let fixture: DataDirFixture | undefined;
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

describe("graceful shutdown with the durable store", () => {
  it("under load, every acknowledged write survives the shutdown; the rest got UNAVAILABLE", async () => {
    fixture = new DataDirFixture(await makeTempDir("shutdown"));
    const store = await fixture.reopen({ maxKeys: 100_000 });
    const t = await startTestServer({ store, clock: fixture.clock });
    const generated = new Set<string>();
    const held = new Map<string, string>();
    const codes = new Set<string>();
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        try {
          const { keys } = await t.client.generateKeys({ count: 5 });
          for (const k of keys) generated.add(k.key);
          const { key } = await t.client.acquireKey({});
          held.set(key!.key, key!.leaseId);
          codes.add("OK");
        } catch (err) {
          const code = grpc.status[(err as grpc.ServiceError).code]!;
          codes.add(code);
          if (code === "UNAVAILABLE") return;
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    while (generated.size < 500) await new Promise((r) => setTimeout(r, 10));
    await t.server.shutdown(); // closes the store once in-flight calls are done
    running = false;
    await Promise.all(workers);
    t.client.close();
    expect([...codes].sort()).toEqual(["OK", "UNAVAILABLE"]);

    const reopened = await fixture.reopen({ maxKeys: 100_000 });
    for (const key of generated) expect((await reopened.get(key)).key).toBe(key);
    for (const [key, leaseId] of held) {
      const info = await reopened.get(key);
      expect(info.state).toBe("blocked");
      expect(info.leaseId).toBe(leaseId);
    }
  });
});
