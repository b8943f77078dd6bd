/**
 * `npm run soak`: many client processes do random operations against one keypool server for a set
 * time; every acquisition, release, delete and keepalive goes into a ledger that is checked
 * afterwards (no key held twice at once, no dead or deleted key served). Prints what was done
 * and the violations found; exits 1 when there is any. Loopback only; bounded in time; kills
 * every process it started.
 *
 *   npm run soak -- --duration 30s --clients 8 --keys 2000 [--addr 127.0.0.1:PORT]
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import type { KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { Ledger } from "./soak-ledger.js";
import { parseSoakOptions, SOAK_USAGE } from "./soak-options.js";
import type { SoakOptions } from "./soak-options.js";
import { OP_KINDS } from "./soak-protocol.js";
import type { ClientConfig, ClientMessage, OpKind } from "./soak-protocol.js";
import { startSoakServer } from "./soak-server.js";
import type { SoakServer } from "./soak-server.js";

const CLIENT = new URL("./soak-client.ts", import.meta.url);
const children: ChildProcess[] = [];
let server: SoakServer | undefined;

/** Kills every process the soak started, at once. */
function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  server?.kill();
}

/** Generates the starting keys, recording each one's life in the ledger. */
async function seedKeys(client: TypedClient<typeof KeyService>, count: number, ledger: Ledger): Promise<string[]> {
  const keys: string[] = [];
  for (let left = count; left > 0; left -= 1000) {
    for (const k of (await client.generateKeys({ count: Math.min(1000, left) }, { timeoutMs: 10_000 })).keys) {
      keys.push(k.key);
      ledger.add({ e: "lived", key: k.key, at: timestampMs(k.createdAt!), expiresAt: timestampMs(k.expiresAt!) });
    }
  }
  return keys;
}

/** Keeps `keys` alive every second until `stop` resolves (client processes take a while to start). */
async function bridgeKeepAlive(
  client: TypedClient<typeof KeyService>, keys: readonly string[], ledger: Ledger, ttlMs: number, stop: Promise<unknown>,
): Promise<void> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped) {
    for (let i = 0; i < keys.length; i += 1000) {
      const call = client.keepAlive();
      call.on("error", () => {});
      call.on("data", (r: KeepAliveResponse) => {
        for (const x of r.results) {
          if (x.found) ledger.add({ e: "lived", key: x.key, at: timestampMs(x.expiresAt!) - ttlMs, expiresAt: timestampMs(x.expiresAt!) });
        }
      });
      const done = new Promise((resolve) => call.on("status", resolve));
      call.end({ keys: keys.slice(i, i + 1000) });
      await done;
    }
    await Promise.race([stop, new Promise((r) => setTimeout(r, 1_000))]);
  }
}

/** Forks the clients, starts them together, gathers their events; resolves with their counts. */
async function runClients(
  options: SoakOptions, address: string, keys: string[], ttl: { block: number; keepalive: number }, ledger: Ledger, ready: () => void,
): Promise<{ ops: Record<OpKind, number>; codes: Record<string, number>; seconds: number }> {
  const ops = Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>;
  const codes: Record<string, number> = {};
  const started: Promise<void>[] = [];
  const finished: Promise<void>[] = [];
  for (let id = 0; id < options.clients; id++) {
    const child = fork(CLIENT, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.push(child);
    started.push(new Promise((resolve) => child.once("message", () => resolve())));
    finished.push(new Promise((resolve, reject) => {
      child.on("message", (m: ClientMessage | { type: "ready" }) => {
        if (m.type === "events") for (const e of m.events) ledger.add(e);
        if (m.type !== "done") return;
        for (const k of OP_KINDS) ops[k] += m.ops[k];
        for (const [c, n] of Object.entries(m.codes)) codes[c] = (codes[c] ?? 0) + n;
        resolve();
      });
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`soak client ${id} exited with ${code}`))));
    }));
  }
  await Promise.all(started);
  ready();
  const share = Math.ceil(keys.length / options.clients);
  children.forEach((child, id) => {
    const config: ClientConfig = {
      id, address, durationMs: options.durationMs, blockTtlMs: ttl.block, keepaliveTtlMs: ttl.keepalive,
      keys: keys.slice(id * share, (id + 1) * share), target: share, seed: options.seed * 1_000 + id,
    };
    child.send(config);
  });
  const start = Date.now();
  await Promise.all(finished);
  return { ops, codes, seconds: (Date.now() - start) / 1000 };
}

/** After the run: the server still serves a full round trip and its counts add up. */
async function finalChecks(client: TypedClient<typeof KeyService>, ledger: Ledger): Promise<void> {
  const stats = await client.getPoolStats({}, { timeoutMs: 5_000 });
  if (stats.total !== stats.free + stats.blocked) ledger.violations.push(`final stats: total ${stats.total} != ${stats.free} + ${stats.blocked}`);
  await client.generateKeys({ count: 1 }, { timeoutMs: 5_000 });
  const { key } = await client.acquireKey({}, { timeoutMs: 5_000 });
  await client.releaseKey({ key: key!.key, leaseId: key!.leaseId }, { timeoutMs: 5_000 });
}

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2));
  const ledger = new Ledger();
  const watchdog = setTimeout(() => {
    process.stderr.write("soak: over its time budget; killing everything\n");
    killAll();
    process.exit(3);
  }, options.durationMs + 90_000).unref();
  try {
    const maxKeys = Math.max(10_000, options.keys * 4);
    server = options.address ? undefined : await startSoakServer({ blockTtl: options.blockTtl, keepaliveTtl: options.keepaliveTtl, maxKeys });
    const address = options.address ?? server!.address;
    const client = createTypedClient(KeyService, address);
    const stats = await client.getPoolStats({}, { timeoutMs: 10_000 });
    const ttl = { block: durationMs(stats.blockTtl!), keepalive: durationMs(stats.keepaliveTtl!) };
    const keys = await seedKeys(client, options.keys, ledger);
    let ready!: () => void;
    const clientsReady = new Promise<void>((resolve) => (ready = resolve));
    const bridge = bridgeKeepAlive(client, keys, ledger, ttl.keepalive, clientsReady);
    const run = await runClients(options, address, keys, ttl, ledger, ready);
    await bridge;
    await finalChecks(client, ledger);
    client.close();
    const exit = await server?.stop();
    if (server && exit !== 0) ledger.violations.push(`the server exited with ${exit} on SIGTERM`);
    for (const line of server?.errors ?? []) ledger.violations.push(`server error log: ${line}`);
    if (server?.keyLeaks) ledger.violations.push(`${server.keyLeaks} server log lines held a whole key`);
    const violations = ledger.check();
    report(options, address, run, ledger.acquisitions, violations);
    return violations.length === 0 ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await server?.stop();
  }
}

/** Prints what was done and what went wrong. */
function report(
  options: SoakOptions, address: string, run: { ops: Record<OpKind, number>; codes: Record<string, number>; seconds: number },
  acquisitions: number, violations: readonly string[],
): void {
  const { ops, codes, seconds } = run;
  const total = OP_KINDS.reduce((n, k) => n + ops[k], 0);
  const out = [
    `soak: ${options.clients} clients against ${address} for ${seconds.toFixed(1)} s, ${options.keys} starting keys`,
    `operations: ${total} (${Math.round(total / seconds)} ops/s)`,
    ...OP_KINDS.map((k) => `  ${k.padEnd(17)} ${ops[k]}`),
    `status codes: ${Object.entries(codes).map(([c, n]) => `${c} ${n}`).join(", ")}`,
    `acquisitions checked against the ledger: ${acquisitions}`,
    `violations: ${violations.length}`,
    ...violations.slice(0, 20).map((v) => `  ${v}`),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error)?.message ?? String(err)}\n${SOAK_USAGE}\n`);
    killAll();
    process.exit(2);
  },
);
