import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
afterEach(() => t.close());

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function healthClient(address: string): Json {
  const pkg = grpc.loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String })) as Json;
  return new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

describe("health follows the store and shutdown", () => {
  it("watchers see NOT_SERVING while the store is unreachable and SERVING when it is back", async () => {
    t = await startTestServer();
    let serving = true;
    const listeners = new Set<(s: boolean) => void>();
    // A store whose backend comes and goes, like Redis.
    Object.assign(t.store, { isServing: () => serving });
    const flip = (s: boolean) => {
      serving = s;
      for (const l of listeners) l(s);
    };
    await t.close();
    t = await startTestServer({
      store: Object.assign(t.store, {
        onServingChange: (l: (s: boolean) => void) => (listeners.add(l), () => listeners.delete(l)),
      }),
      clock: t.clock,
    });
    const client = healthClient(t.address);
    const watch = client.Watch({ service: "" });
    const seen: string[] = [];
    watch.on("data", (r: Json) => seen.push(r.status));
    watch.on("error", () => {});
    const next = (n: number) => new Promise<void>((resolve) => {
      const check = (): void => void (seen.length >= n ? resolve() : setTimeout(check, 5));
      check();
    });
    await next(1);
    flip(false);
    await next(2);
    flip(true);
    await next(3);
    expect(seen).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    watch.cancel();
    client.close();
  });

  it("reports NOT_SERVING from the first moment of shutdown, so load balancers drain it first", async () => {
    t = await startTestServer();
    const client = healthClient(t.address);
    const watch = client.Watch({ service: "keypool.v1.KeyService" });
    const seen: string[] = [];
    watch.on("data", (r: Json) => seen.push(r.status));
    watch.on("error", () => {});
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const stopping = t.server.shutdown();
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    watch.cancel();
    client.close();
    await stopping;
  });

  it("under load, shutdown lets every call finish or answer UNAVAILABLE, and ends streams with a status", async () => {
    t = await startTestServer();
    await t.client.generateKeys({ count: 1000 });
    const codes = new Map<string, number>();
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        try {
          const { key } = await t.client.acquireKey({}, { timeoutMs: 5_000 });
          await t.client.releaseKey({ key: key!.key, leaseId: key!.leaseId }, { timeoutMs: 5_000 });
          codes.set("OK", (codes.get("OK") ?? 0) + 1);
        } catch (err) {
          const code = grpc.status[(err as grpc.ServiceError).code]!;
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (code === "UNAVAILABLE") return;
        }
      }
    };
    const workers = Array.from({ length: 32 }, worker);
    while ((codes.get("OK") ?? 0) < 100) await new Promise((r) => setTimeout(r, 10));
    const watchStatus = new Promise<grpc.StatusObject>((resolve) => {
      const stream = t.client.keepAlive();
      stream.on("error", () => {});
      stream.on("status", resolve);
      stream.write({ keys: [] });
    });
    await t.server.shutdown();
    running = false;
    await Promise.all(workers);
    expect([...codes.keys()].sort()).toEqual(["OK", "UNAVAILABLE"]);
    expect((await watchStatus).code).toBe(grpc.status.UNAVAILABLE);
  });
});
