import { once } from "node:events";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
afterEach(() => t.close());

function statusOf(call: grpc.ClientDuplexStream<never, unknown>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    call.on("error", () => {});
    call.on("status", resolve);
  });
}

describe("limits", () => {
  it("a request over --max-request-bytes is RESOURCE_EXHAUSTED naming the sizes", async () => {
    t = await startTestServer({ server: { limits: { maxRequestBytes: 4096 } } });
    const err = await t.client.getKey({ key: "x".repeat(10_000) }).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/larger than max .*4096/) });
    await expect(t.client.getPoolStats({})).resolves.toBeDefined();
  });

  it("GenerateKeys over --max-generate is INVALID_ARGUMENT naming the limit", async () => {
    t = await startTestServer({ server: { limits: { maxGenerate: 10 } } });
    await expect(t.client.generateKeys({ count: 11 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/at most 10 /),
    });
  });

  it("a KeepAlive message over --max-keepalive-keys ends the stream with INVALID_ARGUMENT", async () => {
    t = await startTestServer({ server: { limits: { maxKeepAliveKeys: 2 } } });
    const call = t.client.keepAlive();
    const status = statusOf(call);
    call.write({ keys: Array(3).fill("kp_AAAAAAAAAAAAAAAAAAAAAAAA") });
    expect(await status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/at most 2 keys/) });
  });

  it("a stream over --max-streams is RESOURCE_EXHAUSTED; the open ones keep working", async () => {
    t = await startTestServer({ server: { limits: { maxStreams: 2 } } });
    const open = [t.client.keepAlive(), t.client.keepAlive()];
    for (const call of open) {
      call.write({ keys: [] });
      await new Promise((r) => call.once("data", r));
    }
    const third = t.client.keepAlive();
    const status = statusOf(third);
    third.write({ keys: [] });
    expect(await status).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/--max-streams/) });
    open[0]!.write({ keys: [] });
    await new Promise((r) => open[0]!.once("data", r));
    const ends = open.map(statusOf);
    for (const call of open) call.end();
    expect((await Promise.all(ends)).map((s) => s.code)).toEqual([grpc.status.OK, grpc.status.OK]);
  });

  it("metadata over --max-metadata-bytes is refused", async () => {
    t = await startTestServer({ server: { limits: { maxMetadataBytes: 1024 } } });
    const metadata = new grpc.Metadata();
    metadata.set("x-padding", "p".repeat(4096));
    const err = await t.client.getPoolStats({}, { metadata }).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/limit is 1024 \(--max-metadata-bytes\)/) });
  });

  it("every value of a header counts toward --max-metadata-bytes, also the comma-separated ones of a -bin header", async () => {
    t = await startTestServer({ server: { limits: { maxMetadataBytes: 16 * 1024 } } });
    // 12,000 values of 4 base64 characters in one header line: ~60 kB on the wire.
    const session = http2.connect(`http://${t.address}`);
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST", ":path": "/keypool.v1.KeyService/GetPoolStats", "content-type": "application/grpc", te: "trailers",
      "x-padding-bin": Array(12_000).fill("AAAA").join(","),
    });
    stream.end(Buffer.alloc(5));
    stream.resume();
    // A refusal is a trailers-only response: the status is in the response headers.
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    session.close();
    expect(headers["grpc-status"]).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(String(headers["grpc-message"]))).toMatch(/request metadata is \d{5} bytes; the limit is 16384/);
  });
});
