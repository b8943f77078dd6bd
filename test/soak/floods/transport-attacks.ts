/**
 * The KeepAlive flood of `npm run soak:floods` (issue 15, item 11): streams that never read.
 * Runs until `until` and returns what it did. Loopback only.
 */
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { KeepAliveRequestSchema, KeyService } from "../../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../../src/grpc/typed-client.js";
import { grpcFrame } from "../../support/fuzz-raw-http2.js";

/** The admin token the flood server's auth file accepts (the probe's, lent to the attacker). */
export const FLOOD_TOKEN = "flood-probe-token";
type Counts = Record<string, number>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const connect = (address: string): http2.ClientHttp2Session =>
  http2.connect(`http://${address}`, { maxSessionMemory: 64 }).on("error", () => {});
const request = (session: http2.ClientHttp2Session, method: string): http2.ClientHttp2Stream =>
  session.request({
    ":method": "POST", ":path": `/keypool.v1.KeyService/${method}`, "content-type": "application/grpc", te: "trailers",
    authorization: `Bearer ${FLOOD_TOKEN}`,
  }).on("error", () => {});

/**
 * 300 KeepAlive streams (15 connections x 20) that send 1,000-key requests naming live keys (the
 * largest answers) while their transport takes them, and never read an answer.
 */
export async function neverReadFlood(address: string, until: number): Promise<Counts> {
  const counts = { streams: 0, requestsWritten: 0 };
  const client = createTypedClient(KeyService, address);
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${FLOOD_TOKEN}`);
  const { keys } = await client.generateKeys({ count: 1000 }, { metadata });
  client.close();
  const frame = grpcFrame(toBinary(KeepAliveRequestSchema, create(KeepAliveRequestSchema, { keys: keys.map((k) => k.key) })));
  const sessions = Array.from({ length: 15 }, () => connect(address));
  const streams = sessions.flatMap((session) => Array.from({ length: 20 }, () => {
    counts.streams++;
    return request(session, "KeepAlive").pause(); // never read
  }));
  while (Date.now() < until) {
    for (const stream of streams) {
      for (; stream.writableLength < 64 * 1024 && !stream.destroyed; counts.requestsWritten++) stream.write(frame);
    }
    await sleep(50);
  }
  for (const session of sessions) session.destroy();
  return counts;
}
