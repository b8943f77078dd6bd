import { once } from "node:events";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { KeepAliveRequestSchema, KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { grpcFrame } from "../support/fuzz-raw-http2.js";
import { eventually } from "../support/eventually.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(() => t.close());

const UNKNOWN_KEY = "kp_AAAAAAAAAAAAAAAAAAAAAAAA";

/** Resolves with the stream's final status. */
function statusOf(call: grpc.ClientDuplexStream<never, unknown>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    call.on("error", () => {});
    call.on("status", resolve);
  });
}

describe("KeepAlive stream", () => {
  it("answers each request once, in order, one result per key; a missing key never ends it", async () => {
    const { keys } = await t.client.generateKeys({ count: 3 });
    const [a, b, c] = keys.map((k) => k.key);
    const call = t.client.keepAlive();
    const responses: KeepAliveResponse[] = [];
    call.on("data", (r: KeepAliveResponse) => responses.push(r));
    const status = statusOf(call);
    t.clock.advance(1_000);
    call.write({ keys: [a!, UNKNOWN_KEY, b!] });
    call.write({ keys: [] });
    call.write({ keys: [c!, c!] });
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(responses.map((r) => r.results.map((x) => [x.key, x.found]))).toEqual([
      [[a, true], [UNKNOWN_KEY, false], [b, true]],
      [],
      [[c, true], [c, true]],
    ]);
    expect(timestampMs(responses[0]!.results[0]!.expiresAt!)).toBe(t.clock.now() + 300_000);
    expect(responses[0]!.results[1]!.expiresAt).toBeUndefined();
  });

  it("keeps a key alive for hours over one stream", async () => {
    const { keys } = await t.client.generateKeys({ count: 1 });
    const key = keys[0]!.key;
    const call = t.client.keepAlive();
    const status = statusOf(call);
    for (let minute = 0; minute < 180; minute += 4) {
      t.clock.advance(4 * 60_000);
      call.write({ keys: [key] });
      const [response] = (await once(call, "data")) as [KeepAliveResponse];
      expect(response.results[0]!.found).toBe(true);
    }
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect((await t.client.getKey({ key })).key!.key).toBe(key);
  });

  it.each([
    { name: "a malformed key", keys: ["not a key"], details: /keys\[0\] is malformed/ },
    { name: "more than 1000 keys", keys: Array(1001).fill(UNKNOWN_KEY), details: /at most 1000 keys/ },
  ])("ends with INVALID_ARGUMENT on $name", async ({ keys, details }) => {
    const call = t.client.keepAlive();
    const status = statusOf(call);
    call.write({ keys });
    const s = await status;
    expect(s.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(s.details).toMatch(details);
  });

  it("frees everything when the client vanishes", async () => {
    const other = createTypedClient(KeyService, t.address);
    const call = other.keepAlive();
    call.on("error", () => {});
    call.write({ keys: [UNKNOWN_KEY] });
    await once(call, "data");
    expect(t.server.streams.size).toBe(1);
    other.close();
    call.cancel();
    await eventually(() => t.server.streams.size === 0, "the stream to be released");
  });

  it("holds one response for a client that never reads: the next request waits for the transport", async () => {
    const { keys } = await t.client.generateKeys({ count: 1000 });
    const served: number[] = [];
    const inner = t.store.keepAliveMany.bind(t.store);
    t.store.keepAliveMany = (k) => {
      served.push(k.length);
      return inner(k);
    };
    // A raw HTTP/2 client that never reads: grpc-js clients keep reading into memory even when
    // paused, which would hide whether the server waits for the transport.
    const session = http2.connect(`http://${t.address}`, { maxSessionMemory: 100 });
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST", ":path": "/keypool.v1.KeyService/KeepAlive", "content-type": "application/grpc", te: "trailers",
    });
    stream.on("error", () => {}); // the server resets the stream when we go away
    stream.pause();
    const body = toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys: keys.map((k) => k.key) }));
    for (let i = 0; i < 200; i++) stream.write(grpcFrame(body));
    await eventually(() => served.length > 0, "the first request");
    let last = -1;
    while (served.length !== last) {
      last = served.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    // Each response is ~45 kB; the client's 64 KiB window takes one and part of the next, whose
    // write has not completed, so the server has not read a third request. (grpc-js on its own
    // queues 16 more responses, ~4.7 MB of objects, for every such stream.)
    expect(served.length).toBe(2);
    expect(t.server.streams.size).toBe(1);
    stream.close();
    session.destroy();
    await eventually(() => t.server.streams.size === 0, "the stream to be released");
  });

  it("one server holds 1,000 concurrent streams", async () => {
    const { keys } = await t.client.generateKeys({ count: 1 });
    const calls = Array.from({ length: 1000 }, () => t.client.keepAlive());
    const answers = calls.map((call) => {
      call.on("error", () => {});
      call.write({ keys: [keys[0]!.key] });
      return once(call, "data") as Promise<[KeepAliveResponse]>;
    });
    const responses = await Promise.all(answers);
    expect(responses.every(([r]) => r.results[0]!.found)).toBe(true);
    expect(t.server.streams.size).toBe(1000);
    const statuses = calls.map(statusOf);
    for (const call of calls) call.end();
    expect((await Promise.all(statuses)).every((s) => s.code === grpc.status.OK)).toBe(true);
    await eventually(() => t.server.streams.size === 0, "all streams to close");
  });

  it("ends open streams with UNAVAILABLE when the server shuts down", async () => {
    const call = t.client.keepAlive();
    const status = statusOf(call);
    call.write({ keys: [] });
    await once(call, "data");
    await t.server.shutdown();
    const s = await status;
    expect(s.code).toBe(grpc.status.UNAVAILABLE);
    expect(s.details).toMatch(/shutting down/);
  });
});
