/**
 * One soak client process (forked by run-soak.ts): random operations against the server for the
 * configured time, from several concurrent loops, plus one KeepAlive stream for the keys it keeps;
 * ledger events go to the parent every 250 ms. Exits on its own when done or when the parent goes.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { KeepAliveResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { seededRandom } from "../../src/random.js";
import { SoakClient } from "./soak-ops.js";
import type { ClientConfig, ClientMessage } from "./soak-protocol.js";

/** Concurrent operation loops per client process. */
const LOOPS = 8;
/** How often the client's stream keeps its keys alive (well inside any sane keepalive TTL). */
const KEEPALIVE_EVERY_MS = 500;

function send(message: ClientMessage | { type: "ready" }): void {
  process.send?.(message);
}

/** One loop: a weighted random operation after another until `deadline`. */
async function loop(c: SoakClient, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const roll = c.random.int(100);
    if (roll < 30) await c.acquire();
    else if (roll < 55) {
      if (!(await c.release())) await c.acquire();
    } else if (roll < 65) await c.keepAliveOne();
    else if (roll < 68) await c.remove();
    else if (roll < 75 && c.known.list.length < c.config.target * 2) await c.generate();
    else if (roll < 93) await c.get();
    else await c.stats();
  }
}

/** Keeps every known, non-mortal key alive over one stream until `deadline`. */
async function keepAliveStream(c: SoakClient, deadline: number): Promise<void> {
  const call = c.client.keepAlive();
  const pending: string[][] = [];
  call.on("data", (response: KeepAliveResponse) => {
    const keys = pending.shift() ?? [];
    response.results.forEach((r, i) => {
      if (r.key !== keys[i]) c.violation("keepalive-stream: a result for another key than asked, or out of order");
      if (!r.found) {
        c.codes["stream found=false"] = (c.codes["stream found=false"] ?? 0) + 1;
        return void c.forget(r.key);
      }
      const expiresAt = timestampMs(r.expiresAt!);
      c.lived(r.key, expiresAt - c.config.keepaliveTtlMs, expiresAt);
    });
  });
  const status = new Promise<{ code: number; details: string }>((resolve) => {
    call.on("error", () => {});
    call.on("status", resolve);
  });
  while (Date.now() < deadline) {
    const keys = c.known.list.filter((k) => !c.mortal.has(k)).slice(0, 1000);
    pending.push(keys);
    c.ops["keepalive-stream"]++;
    call.write({ keys });
    await new Promise((r) => setTimeout(r, KEEPALIVE_EVERY_MS));
  }
  call.end();
  const { code, details } = await status;
  if (code !== 0) c.violation(`keepalive-stream ended with code ${code} "${details.slice(0, 120)}"`);
  if (pending.length > 0) c.violation(`keepalive-stream: ${pending.length} requests never answered`);
}

async function run(config: ClientConfig): Promise<void> {
  const client = createTypedClient(KeyService, config.address);
  const c = new SoakClient(client, config, seededRandom(config.seed));
  const flush = (): void => {
    if (c.events.length === 0) return;
    send({ type: "events", events: c.events });
    c.events = [];
  };
  const timer = setInterval(flush, 250);
  const deadline = Date.now() + config.durationMs;
  await Promise.all([keepAliveStream(c, deadline), ...Array.from({ length: LOOPS }, () => loop(c, deadline))]);
  clearInterval(timer);
  flush();
  send({ type: "done", ops: c.ops, codes: c.codes });
  client.close();
  process.disconnect?.();
}

process.once("message", (config: ClientConfig) => {
  run(config).catch((err: unknown) => {
    process.stderr.write(`soak client ${config.id} failed: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
});
process.once("disconnect", () => setTimeout(() => process.exit(0), 1_000).unref());
send({ type: "ready" });
