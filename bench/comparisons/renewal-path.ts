/**
 * Standalone comparison: the server's own work for a renewal against a keepalive, in one process
 * and without gRPC transport, so that a machine other engineers load still gives a usable ratio
 * (`npx tsx bench/comparisons/renewal-path.ts [--reps 9]`). Memory store only: on the durable
 * store every call waits for its fsync, and on a loaded disk the 60 s leases end before a round
 * does; the journal's part is one record per key on both sides.
 *
 * Each path is what the server does per message: the method's request deserializer (the
 * KeepAlive stream's own codec, or protobuf-es for the unary RPCs), the store call, the wire
 * conversion and the response serializer. The keys are the same for both sides: 3,000 keys
 * acquired from a pool of 100,000 (as section 4b's load clients hold them), 100 per stream
 * message. Figures are CPU time per message (process.cpuUsage), the best of `reps` interleaved
 * rounds (the least disturbed by other processes); ratios are keepalive / renewal (1 = same cost).
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { methodDefinition } from "../../src/grpc/service-definition.js";
import { systemRandom } from "../../src/random.js";
import { backgroundScheduler } from "../../src/scheduler.js";
import { keepAliveResultMessage, keyInfoMessage, leaseResultMessage } from "../../src/server/convert.js";
import { KEEPALIVE_CODEC } from "../../src/server/keepalive-stream.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";

const { values } = parseArgs({ options: { reps: { type: "string", default: "9" } } });
const POOL_KEYS = 100_000;
const HELD = 3_000;
const BATCH = 100;
const MESSAGES = 30;

const store = EmbeddedStore.memory({
  blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: POOL_KEYS + HELD, scheduler: backgroundScheduler, random: systemRandom,
});
for (let left = POOL_KEYS; left > 0; left -= 1000) await store.generate(1000);
const held: { key: string; leaseId: string }[] = [];
for (let i = 0; i < HELD; i++) {
  const got = await store.acquire();
  held.push({ key: got.key, leaseId: got.leaseId! });
}

const stream = methodDefinition(KeyService.method.keepAlive, KEEPALIVE_CODEC);
const renewUnary = methodDefinition(KeyService.method.renewLease);
const keepUnary = methodDefinition(KeyService.method.keepAliveKey);
const batch = (i: number): { key: string; leaseId: string }[] => held.slice((i * BATCH) % HELD, ((i * BATCH) % HELD) + BATCH);
const requests = {
  "keepalive-stream": Array.from({ length: MESSAGES }, (_, i) => stream.requestSerialize({ keys: batch(i).map((l) => l.key) })),
  "renew-stream": Array.from({ length: MESSAGES }, (_, i) => stream.requestSerialize({ leases: batch(i) })),
  "keepalive-unary": held.slice(0, MESSAGES * 10).map((l) => keepUnary.requestSerialize({ key: l.key })),
  "renew-unary": held.slice(0, MESSAGES * 10).map((l) => renewUnary.requestSerialize(l)),
};
type Path = keyof typeof requests;

/** One message through the server's path (what the handlers and codecs do, less the transport). */
const paths: Record<Path, (bytes: Buffer) => Promise<Buffer>> = {
  "keepalive-stream": async (bytes) => {
    const { keys } = stream.requestDeserialize(bytes) as { keys: string[] };
    const results = await store.keepAliveMany(keys);
    return stream.responseSerialize({ results: results.map(keepAliveResultMessage), leaseResults: [] });
  },
  "renew-stream": async (bytes) => {
    const { leases } = stream.requestDeserialize(bytes) as { leases: { key: string; leaseId: string }[] };
    const results = await store.renewMany(leases);
    return stream.responseSerialize({ results: [], leaseResults: results.map(leaseResultMessage) });
  },
  "keepalive-unary": async (bytes) => {
    const { key } = keepUnary.requestDeserialize(bytes) as { key: string };
    const info = await store.keepAlive(key);
    return keepUnary.responseSerialize({ key: keyInfoMessage(info, "default"), keepaliveTtl: durationFromMs(store.settings.keepaliveTtlMs) });
  },
  "renew-unary": async (bytes) => {
    const { key, leaseId } = renewUnary.requestDeserialize(bytes) as { key: string; leaseId: string };
    return renewUnary.responseSerialize({ key: keyInfoMessage(await store.renew(key, leaseId), "default") });
  },
};

async function cpuPerMessage(path: Path, messages: number): Promise<number> {
  const bytes = requests[path];
  const started = process.cpuUsage();
  for (let i = 0; i < messages; i++) await paths[path](bytes[i % bytes.length]!);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / messages;
}

const best = new Map<Path, number>();
const rounds = Number(values.reps);
for (let round = 0; round < rounds; round++) {
  for (const path of Object.keys(paths) as Path[]) {
    const us = await cpuPerMessage(path, path.endsWith("stream") ? 1_000 : 10_000);
    best.set(path, Math.min(best.get(path) ?? Infinity, us));
  }
}
const [ks, rs, ku, ru] = (["keepalive-stream", "renew-stream", "keepalive-unary", "renew-unary"] as const).map((p) => best.get(p)!);
const fmt = (us: number): string => us.toFixed(1).padStart(7);
console.log(`memory store, ${HELD.toLocaleString("en-US")} held keys of ${POOL_KEYS.toLocaleString("en-US")}, best of ${rounds} rounds, load ${loadavg()[0]!.toFixed(1)}`);
console.log(`stream, ${BATCH} per message: keepalive ${fmt(ks!)} us, renewal ${fmt(rs!)} us per message: ratio ${(ks! / rs!).toFixed(2)}`);
console.log(`unary:                 keepalive ${fmt(ku!)} us, renewal ${fmt(ru!)} us per call:    ratio ${(ku! / ru!).toFixed(2)}`);
await store.close();
