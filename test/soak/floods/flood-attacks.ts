/**
 * The attacks of `npm run soak:floods`, run in a child process of their own (so the probe's
 * latency is the server's, not this process's): `node --import tsx flood-attacks.ts ATTACK
 * ADDRESS MS`. Each attack runs for MS milliseconds, then reports what it did over IPC (or
 * stdout) and exits. Bounded in time and in its own memory.
 */
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ServerReflectionRequestSchema } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { grpcFrame } from "../../support/fuzz-raw-http2.js";
import { healthClient } from "../../support/health-client.js";
import type { WatchCall } from "../../support/health-client.js";
import { connectFrom, idleConnectionsFlood, rapidResetFlood, sourceAddress } from "./connection-attacks.js";
import { neverReadFlood } from "./transport-attacks.js";

/** The floods, by name. */
export const ATTACKS = ["watch", "reflection", "refused", "keepalive-never-read", "idle-connections", "rapid-reset"] as const;
/** A flood's name. */
export type Attack = (typeof ATTACKS)[number];
type Counts = Record<string, number>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Health Watch: first 1,200 streams at once with unique names (more than the limit admits), then
 * until the end 100 workers over 20 connections replace held streams with new ones (unique
 * names, every other one 30 KB long), so the server sees streams come and go all along.
 */
async function watchFlood(address: string, until: number): Promise<Counts> {
  const counts: Counts = { opened: 0, cancelled: 0 };
  const clients = Array.from({ length: 20 }, () => healthClient(address));
  let serial = 0;
  const held: WatchCall[] = [];
  const openOne = async (long: boolean): Promise<void> => {
    const name = `flood-${process.pid}-${serial++}-`;
    const watch = clients[serial % clients.length]!.watch(long ? name.padEnd(30_000, "x") : name);
    // A refused stream never sees data: its wait for one must not outlive the race.
    const data = watch.next(1).then(() => "data", () => "no data");
    const first = await Promise.race([data, watch.ended.then((s) => (s.code === grpc.status.INTERNAL ? `INTERNAL: ${s.details}` : grpc.status[s.code]!))]);
    if (first === "data") {
      counts.opened!++;
      held.push(watch);
    } else counts[first] = (counts[first] ?? 0) + 1;
  };
  await Promise.all(Array.from({ length: 1_200 }, () => openOne(false)));
  const worker = async (): Promise<void> => {
    while (Date.now() < until) {
      const old = held.shift();
      old?.call.cancel();
      if (old) counts.cancelled!++;
      await openOne(serial % 2 === 1);
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  for (const watch of held) watch.call.cancel();
  for (const client of clients) client.close();
  return counts;
}

/**
 * Reflection streams that ask for the 20+ KB keypool.proto again and again and never read an
 * answer: 10 connections x 15 streams (150: more than the server admits).
 */
async function reflectionFlood(address: string, until: number): Promise<Counts> {
  const counts = { streams: 0, requestsWritten: 0 };
  const frame = grpcFrame(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, {
    messageRequest: { case: "fileContainingSymbol", value: "keypool.v1.KeyService" },
  })));
  const sessions = Array.from({ length: 10 }, () => http2.connect(`http://${address}`).on("error", () => {}));
  const streams = sessions.flatMap((session) => Array.from({ length: 15 }, () => {
    counts.streams++;
    const stream = session.request({
      ":method": "POST", ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "content-type": "application/grpc", te: "trailers",
    });
    stream.on("error", () => {});
    stream.pause(); // never read
    return stream;
  }));
  while (Date.now() < until) {
    for (const stream of streams) {
      // Keep this process's own buffer small: write only while the transport takes it.
      for (let i = 0; i < 100 && stream.writableLength < 64 * 1024 && !stream.destroyed; i++, counts.requestsWritten++) stream.write(frame);
    }
    await sleep(20);
  }
  for (const session of sessions) session.destroy();
  return counts;
}

/**
 * Calls refused for want of a token (UNAUTHENTICATED, an `info` log line each): whole GetPoolStats
 * requests over 8 connections from addresses of their own (the server may ban the address), 256
 * in flight, each waiting for its answer; a closed connection is replaced.
 */
async function refusedFlood(address: string, until: number): Promise<Counts> {
  const counts: Counts = {};
  const sessions: http2.ClientHttp2Session[] = [];
  const sessionFor = (w: number): http2.ClientHttp2Session => {
    const slot = w % 8;
    const old = sessions[slot];
    if (old && !old.closed && !old.destroyed) return old;
    return (sessions[slot] = connectFrom(address, sourceAddress(slot), counts));
  };
  const call = (session: http2.ClientHttp2Session): Promise<string> =>
    new Promise((resolve) => {
      try {
        const stream = session.request({ ":method": "POST", ":path": "/keypool.v1.KeyService/GetPoolStats", "content-type": "application/grpc", te: "trailers" });
        stream.on("error", () => {});
        stream.on("response", (h) => resolve(h["grpc-status"] === undefined ? "no status" : grpc.status[Number(h["grpc-status"])]!));
        stream.on("close", () => resolve("closed without an answer"));
        stream.end(grpcFrame(new Uint8Array()));
        stream.resume();
      } catch {
        resolve("session gone");
      }
    });
  const worker = async (w: number): Promise<void> => {
    while (Date.now() < until) {
      const outcome = await call(sessionFor(w));
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (outcome !== "UNAUTHENTICATED") await sleep(10);
    }
  };
  await Promise.all(Array.from({ length: 256 }, (_, w) => worker(w)));
  for (const session of sessions) session.destroy();
  return counts;
}

const FLOODS: Record<Attack, (address: string, until: number) => Promise<Counts>> = {
  watch: watchFlood, reflection: reflectionFlood, refused: refusedFlood,
  "keepalive-never-read": neverReadFlood, "idle-connections": idleConnectionsFlood, "rapid-reset": rapidResetFlood,
};

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const [attack, address, ms] = process.argv.slice(2) as [Attack, string, string];
  const counts = await FLOODS[attack](address, Date.now() + Number(ms));
  if (process.send) process.send(counts, () => process.exit(0));
  else {
    console.log(JSON.stringify(counts));
    process.exit(0);
  }
}
