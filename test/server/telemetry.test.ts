import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { serveMetrics } from "../../src/server/metrics-http.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
afterEach(() => t.close());

function captureLog(): { lines: Record<string, unknown>[]; log: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: "debug" }, sink) };
}

describe("metrics and logs", () => {
  it("serves the standard gRPC server metrics, labelled as go-grpc-prometheus labels them, and pool gauges", async () => {
    t = await startTestServer();
    await t.client.generateKeys({ count: 3 });
    await t.client.acquireKey({});
    await t.client.getKey({ key: "kp_AAAAAAAAAAAAAAAAAAAAAAAA" }).catch(() => {});
    const { port, server } = await serveMetrics(t.server.metrics, { ready: () => true }, "127.0.0.1", 0);
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(body).toContain('grpc_server_started_total{grpc_type="unary",grpc_service="keypool.v1.KeyService",grpc_method="GenerateKeys"} 1');
      expect(body).toContain('grpc_server_handled_total{grpc_type="unary",grpc_service="keypool.v1.KeyService",grpc_method="GetKey",grpc_code="NotFound"} 1');
      expect(body).not.toContain("NOT_FOUND");
      // The count, not a bucket: how long a call takes on a loaded machine is not the point here.
      expect(body).toContain('grpc_server_handling_seconds_count{grpc_type="unary",grpc_service="keypool.v1.KeyService",grpc_method="AcquireKey"} 1');
      expect(body).toContain('keypool_keys{pool="default",state="free"} 2');
      expect(body).toContain('keypool_keys{pool="default",state="blocked"} 1');
      expect(body).toContain('keypool_key_events_total{event="generated",pool="default"} 3');
      expect(body).toContain("keypool_open_streams 0");
      expect(body).toContain("keypool_open_health_watches 0");
    } finally {
      server.close();
    }
  });

  it("has every method's series at zero before its first call, for every status code", async () => {
    t = await startTestServer();
    const { port, server } = await serveMetrics(t.server.metrics, { ready: () => true }, "127.0.0.1", 0);
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const method of ["GenerateKeys", "AcquireKey", "ReleaseKey", "DeleteKey", "KeepAliveKey", "GetKey", "GetPoolStats"]) {
        const labels = `grpc_type="unary",grpc_service="keypool.v1.KeyService",grpc_method="${method}"`;
        expect(body).toContain(`grpc_server_started_total{${labels}} 0`);
        for (const code of ["OK", "Canceled", "InvalidArgument", "NotFound", "ResourceExhausted", "Unavailable", "Unauthenticated"]) {
          expect(body).toContain(`grpc_server_handled_total{${labels},grpc_code="${code}"} 0`);
        }
        expect(body).toContain(`grpc_server_handling_seconds_count{${labels}} 0`);
      }
      expect(body).toContain('grpc_server_started_total{grpc_type="bidi_stream",grpc_service="keypool.v1.KeyService",grpc_method="KeepAlive"} 0');
      expect(body).toContain('grpc_server_started_total{grpc_type="server_stream",grpc_service="grpc.health.v1.Health",grpc_method="Watch"} 0');
    } finally {
      server.close();
    }
  });

  it("counts the store's automatic releases and expiries as counters named _total", async () => {
    t = await startTestServer();
    const { port, server } = await serveMetrics(t.server.metrics, { ready: () => true }, "127.0.0.1", 0);
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    try {
      await t.client.generateKeys({ count: 2 });
      await t.client.acquireKey({});
      t.clock.advance(60_000); // the block ends
      await t.client.getPoolStats({});
      let body = await scrape();
      expect(body).toContain("# TYPE keypool_store_events_total counter");
      expect(body).toContain('keypool_store_events_total{event="auto_released",pool="default"} 1');
      t.clock.advance(300_000); // both keys die
      await t.client.getPoolStats({});
      body = await scrape();
      expect(body).toContain('keypool_store_events_total{event="auto_released",pool="default"} 1');
      expect(body).toContain('keypool_store_events_total{event="expired",pool="default"} 2');
    } finally {
      server.close();
    }
  });

  it("answers /healthz while alive and /readyz while health is SERVING, on the metrics port", async () => {
    t = await startTestServer();
    const { port, server } = await serveMetrics(t.server.metrics, { ready: () => t.server.health.serving }, "127.0.0.1", 0);
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.text()];
    };
    try {
      expect(await get("/healthz")).toEqual([200, "ok\n"]);
      expect(await get("/readyz")).toEqual([200, "ready\n"]);
      expect((await get("/other"))[0]).toBe(404);
      const stopping = t.server.shutdown();
      expect(await get("/readyz")).toEqual([503, "not ready: the store cannot serve or the server is shutting down\n"]);
      expect((await get("/healthz"))[0]).toBe(200);
      await stopping;
    } finally {
      server.close();
    }
  });

  it("logs one line per failed call with method and code, and never a whole key", async () => {
    const { lines, log } = captureLog();
    t = await startTestServer({ server: { log } });
    const { keys } = await t.client.generateKeys({ count: 1 });
    await t.client.acquireKey({});
    await t.client.acquireKey({}).catch(() => {});
    await t.client.releaseKey({ key: keys[0]!.key, leaseId: "BBBBBBBBBBBBBBBBBBBBBBBB" }).catch(() => {});
    const failed = lines.filter((l) => l.msg === "rpc failed");
    expect(failed.map((l) => [l.method, l.code])).toEqual([
      ["/keypool.v1.KeyService/AcquireKey", "NOT_FOUND"],
      ["/keypool.v1.KeyService/ReleaseKey", "FAILED_PRECONDITION"],
    ]);
    expect(JSON.stringify(lines)).not.toContain(keys[0]!.key);
  });

  it("rate-limits per-call log lines: past the limit they are dropped, counted and summarised", async () => {
    const { lines, log } = captureLog();
    const clock = new ManualClock();
    t = await startTestServer({ server: { log, clock, logLimit: { lines: 2, windowMs: 1_000 } } });
    const missing = () => t.client.getKey({ key: "kp_AAAAAAAAAAAAAAAAAAAAAAAA" }).catch(() => {});
    for (let i = 0; i < 5; i++) await missing();
    expect(lines.filter((l) => l.msg === "rpc failed")).toHaveLength(2);
    clock.advance(1_000);
    await missing();
    const tail = lines.slice(-2);
    expect(tail[0]).toMatchObject({ level: 40, dropped: 3, byCode: { NOT_FOUND: 3 } });
    expect(tail[1]).toMatchObject({ msg: "rpc failed", code: "NOT_FOUND" });
    const body = await t.server.metrics.registry.metrics();
    expect(body).toContain("keypool_log_lines_dropped_total 3");
  });

  it("an unexpected error is INTERNAL with a generic message; the cause is logged, not sent", async () => {
    const { lines, log } = captureLog();
    t = await startTestServer({ server: { log } });
    t.store.stats = () => Promise.reject(new Error("disk on fire at /var/secret"));
    const err = await t.client.getPoolStats({}).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.INTERNAL, details: "internal error; the server logged the cause" });
    const logged = lines.find((l) => l.msg === "rpc failed with an unexpected error");
    expect(JSON.stringify(logged)).toContain("disk on fire");
  });
});
