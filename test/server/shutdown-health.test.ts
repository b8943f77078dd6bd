import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { healthClient } from "../support/health-client.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
afterEach(() => t.close());

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
    const { seen, call, next } = client.watch("");
    await next(1);
    flip(false);
    await next(2);
    flip(true);
    await next(3);
    expect(seen).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    call.cancel();
    client.close();
  });

  it("reports NOT_SERVING from the first moment of shutdown, so load balancers drain it first", async () => {
    t = await startTestServer();
    const client = healthClient(t.address);
    const { seen, next, ended } = client.watch("keypool.v1.KeyService");
    await next(1);
    const stopping = t.server.shutdown();
    await next(2);
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    expect(await ended).toMatchObject({ code: grpc.status.UNAVAILABLE, details: "the server is shutting down" });
    client.close();
    await stopping;
  });

  it("ends open Watch streams at shutdown instead of waiting out the grace period for them", async () => {
    t = await startTestServer({ server: { shutdownGraceMs: 30_000 } });
    const client = healthClient(t.address);
    const watches = [client.watch(""), client.watch("keypool.v1.KeyService"), client.watch("no.such.Service")];
    await Promise.all(watches.map((w) => w.next(1)));
    expect(watches.map((w) => w.seen[0])).toEqual(["SERVING", "SERVING", "SERVICE_UNKNOWN"]);
    // With a 30 s grace period, shutdown finishing at all within the test's timeout proves it
    // did not wait for the Watch streams; each of them ended with UNAVAILABLE.
    await t.server.shutdown();
    const statuses = await Promise.all(watches.map((w) => w.ended));
    expect(statuses.map((s) => s.code)).toEqual([grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]);
    client.close();
  }, 10_000);

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
