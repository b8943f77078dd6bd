/**
 * Child process of the expiry-storm benchmark: a keypool server on loopback whose in-memory EmbeddedStore
 * runs on a ManualClock. It loads `--keys` keys whose blocks (`--mode blocks`: all acquired at
 * one instant) or lives (`--mode lives`) end at the same instant, then moves its clock 1 s on
 * so the clients' own keys get later deadlines. On "storm" it moves the clock past the shared
 * deadline, pokes the sweeper, and answers "stormed" once all due work is done, with its
 * event-loop stalls.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ManualClock } from "../src/clock.js";
import { systemRandom } from "../src/random.js";
import { startServer } from "../src/server/server.js";
import type { RunningServer } from "../src/server/server.js";
import { backgroundScheduler } from "../src/scheduler.js";
import { EmbeddedStore } from "../src/store/embedded-store.js";
import { reply, serveParent } from "./child.js";
import { wallMs } from "./recorder.js";
import { StallProbe } from "./stall-probe.js";
import { singlePoolSet } from "../src/store/pool-set.js";

const TTLS = { blockTtlMs: 60_000, keepaliveTtlMs: 300_000 } as const;
/** How long to wait for the sweep to finish before giving up (bounded). */
const SWEEP_LIMIT_MS = 60_000;

function load(store: EmbeddedStore, keys: number, mode: string, now: number): void {
  for (let left = keys; left > 0; left -= 1000) store.pool.generate(Math.min(1000, left), now);
  if (mode === "blocks") for (let i = 0; i < keys; i++) store.pool.acquire(now);
}

/** Resolves when the pool has no due deadline left (all storm work done), polling each ms. */
function swept(store: EmbeddedStore, clock: ManualClock): Promise<void> {
  const limit = Date.now() + SWEEP_LIMIT_MS;
  return new Promise((resolve) => {
    const check = (): void => {
      const next = store.pool.nextDeadline();
      if (next === undefined || next > clock.now() || Date.now() > limit) resolve();
      else setTimeout(check, 1);
    };
    check();
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keys: { type: "string" }, mode: { type: "string" } } });
  const keys = Number(values.keys);
  const mode = values.mode!;
  if (mode !== "blocks" && mode !== "lives") throw new Error(`--mode must be blocks or lives (got ${mode})`);
  const clock = new ManualClock();
  const t0 = clock.now();
  // The manual clock judges deadlines; the sweeper's timers are real, so the storm runs as in production.
  const scheduler = { ...backgroundScheduler, now: () => clock.now() };
  const store = EmbeddedStore.memory({ ...TTLS, maxKeys: keys + 100_000, scheduler, random: systemRandom });
  load(store, keys, mode, t0);
  clock.advance(1_000);
  const deadline = t0 + (mode === "blocks" ? TTLS.blockTtlMs : TTLS.keepaliveTtlMs);
  const probe = new StallProbe();
  probe.start();
  let server: RunningServer | undefined;
  serveParent(
    async (m) => {
      if (m.type === "mark") return reply({ type: "marked", at: wallMs(), histogramMaxMs: probe.histogramMaxMs(), cpu: process.cpuUsage() });
      if (m.type !== "storm") return;
      const beforeMaxMs = probe.histogramMaxMs();
      const at = wallMs();
      clock.set(deadline + 1);
      store.sweeper.poke();
      await swept(store, clock);
      const doneAt = wallMs();
      // Let trailing stalls (a major GC of a million dead strings) show up before reporting.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      reply({
        type: "stormed", at, doneAt, beforeMaxMs, stormHistogramMaxMs: probe.histogramMaxMs(),
        stalls: probe.between(at - 10_000, wallMs()), cpu: process.cpuUsage(), poolSize: store.pool.size, counters: { ...store.pool.counters },
      });
    },
    async () => {
      probe.stop();
      await server?.shutdown();
    },
  );
  server = await startServer({ host: "127.0.0.1", port: 0, pools: singlePoolSet(store), log: pino({ level: "silent" }), shutdownGraceMs: 1_000 });
  reply({ type: "ready", port: server.port });
}

void main().catch((err: unknown) => {
  reply({ type: "error", message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
