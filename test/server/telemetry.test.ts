import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { serveMetrics } from "../../src/server/metrics.js";
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
  it("serves the standard gRPC server metrics and pool gauges on /metrics", async () => {
    t = await startTestServer();
    await t.client.generateKeys({ count: 3 });
    await t.client.acquireKey({});
    await t.client.getKey({ key: "kp_AAAAAAAAAAAAAAAAAAAAAAAA" }).catch(() => {});
    const { port, server } = await serveMetrics(t.server.metrics, "127.0.0.1", 0);
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(body).toContain('grpc_server_started_total{grpc_type="unary",grpc_service="keypool.v1.KeyService",grpc_method="GenerateKeys"} 1');
      expect(body).toContain('grpc_server_handled_total{grpc_type="unary",grpc_service="keypool.v1.KeyService",grpc_method="GetKey",grpc_code="NOT_FOUND"} 1');
      expect(body).toMatch(/grpc_server_handling_seconds_bucket\{le="0\.1",grpc_type="unary",grpc_service="keypool\.v1\.KeyService",grpc_method="AcquireKey"\} 1/);
      expect(body).toContain('keypool_keys{state="free"} 2');
      expect(body).toContain('keypool_keys{state="blocked"} 1');
      expect(body).toContain('keypool_key_events_total{event="generated"} 3');
      expect(body).toContain("keypool_open_streams 0");
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
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
