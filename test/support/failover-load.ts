import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { KeypoolProcess, healthOf } from "./redis-keypool.js";
import { Ledger } from "./redis-ledger.js";
import type { LoadTarget } from "./redis-load.js";
import { acquiredOf } from "./redis-load.js";

/** Settings of a failover load. */
export interface FailoverLoadOptions {
  readonly targets: readonly LoadTarget[];
  readonly ledger: Ledger;
  readonly workers: number;
}

/** Per-call deadline: a call may span a failover's detection and promotion. */
const CALL_MS = 8_000;
/** Pause after an UNAVAILABLE before the next try, as a client's backoff would. */
const BACKOFF_MS = 20;

interface Holding {
  readonly leaseId: string;
  readonly target: LoadTarget;
}

/**
 * Workers that acquire a key through a random server, hold it a few ms, and release it with its
 * lease id, retrying an unanswered release as a client does: the traffic a failover must not
 * corrupt. Every acquisition goes through the ledger (two holders at once is a violation). The
 * only error a failover may cause is UNAVAILABLE; a FAILED_PRECONDITION is allowed only for a
 * release retried after an UNAVAILABLE one (the first may have released the key, which someone
 * else then took). Anything else lands in `unexpected`.
 */
export class FailoverLoad {
  /** Keys whose acquisition was acknowledged and whose release was not sent yet. */
  readonly held = new Map<string, Holding>();
  /** Count per "<method> <code>". */
  readonly codes: Record<string, number> = {};
  readonly unexpected: string[] = [];
  acquired = 0;
  private running = false;
  private paused = false;
  private busy = 0;
  private workers: Promise<void>[] = [];

  constructor(private readonly options: FailoverLoadOptions) {}

  /** Starts the workers. */
  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.options.workers }, (_, i) => this.worker(i));
  }

  /** Holds every worker before its next step; resolves once none is mid-step. */
  async pause(): Promise<void> {
    this.paused = true;
    for (let waited = 0; this.busy > 0; waited += 5) {
      if (waited > 4 * CALL_MS) throw new Error(`${this.busy} workers still busy ${waited} ms after pause`);
      await sleep(5);
    }
  }

  /** Lets the workers go on after `pause`. */
  resume(): void {
    this.paused = false;
  }

  /** Stops the workers and waits for them. */
  async stop(): Promise<void> {
    this.running = false;
    this.paused = false;
    await Promise.all(this.workers);
  }

  /**
   * Asks a server about every key held now: each must still be blocked under its holder's lease.
   * Call while paused. Returns what was lost (never whole keys).
   */
  async lostAcquisitions(target: LoadTarget): Promise<string[]> {
    const lost: string[] = [];
    for (const [key, holding] of this.held) {
      const reply = await target.client.getKey({ key }, { timeoutMs: CALL_MS }).catch((err: grpc.ServiceError) => err);
      if (reply instanceof Error) lost.push(`${key.slice(0, 6)}…: GetKey failed: ${grpc.status[reply.code]} ${reply.details}`);
      else if (reply.key?.leaseId !== holding.leaseId) lost.push(`${key.slice(0, 6)}…: acknowledged lease gone (state ${reply.key?.state})`);
    }
    return lost;
  }

  private async worker(index: number): Promise<void> {
    let turn = index;
    while (this.running) {
      if (this.paused) {
        await sleep(5);
        continue;
      }
      this.busy++;
      try {
        await this.step(this.options.targets[turn++ % this.options.targets.length]!);
      } finally {
        this.busy--;
      }
    }
  }

  private async step(target: LoadTarget): Promise<void> {
    const reply = await this.call("AcquireKey", () => target.client.acquireKey({}, { timeoutMs: CALL_MS }), false);
    if (reply === undefined || reply === "unavailable") return;
    const got = reply.key!;
    this.acquired++;
    this.options.ledger.acquired(acquiredOf(got), target.name);
    this.held.set(got.key, { leaseId: got.leaseId, target });
    await sleep(Math.floor(Math.random() * 10));
    this.held.delete(got.key);
    this.options.ledger.releasing(got.key, got.leaseId);
    for (let uncertain = false; this.running || uncertain; ) {
      const via = this.options.targets[Math.floor(Math.random() * this.options.targets.length)]!;
      const outcome = await this.call("ReleaseKey", () => via.client.releaseKey({ key: got.key, leaseId: got.leaseId }, { timeoutMs: CALL_MS }), uncertain);
      if (outcome !== "unavailable") return;
      uncertain = true;
    }
  }

  /** One call: its value; "unavailable" (after a backoff); or undefined for another answered error. */
  private async call<T>(method: string, run: () => Promise<T>, retried: boolean): Promise<T | "unavailable" | undefined> {
    try {
      return await run();
    } catch (err) {
      const e = err as grpc.ServiceError;
      const code = grpc.status[e.code] ?? String(e.code);
      this.codes[`${method} ${code}`] = (this.codes[`${method} ${code}`] ?? 0) + 1;
      if (code === "UNAVAILABLE") {
        await sleep(BACKOFF_MS);
        return "unavailable";
      }
      const excused = retried && method === "ReleaseKey" && code === "FAILED_PRECONDITION";
      if (!excused && this.unexpected.length < 20) this.unexpected.push(`${method}: ${code} ${e.details}`);
      return undefined;
    }
  }
}

/** Long TTLs: no key may end its block or die by itself during a failover run, so a lost lease shows. */
const FAILOVER_TTL = { blockTtl: "10m", keepaliveTtl: "30m" } as const;

/** Two keypool servers on one pool, a ledger, and a FailoverLoad of 20 workers over both. */
export interface FailoverRun {
  readonly servers: readonly [KeypoolProcess, KeypoolProcess];
  readonly targets: readonly LoadTarget[];
  readonly ledger: Ledger;
  readonly load: FailoverLoad;
  /** Stops the load and kills the servers. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts two `keypool serve` processes with `extraArgs` (how they reach Redis), waits until both
 * serve, generates `keys` keys in batches of at most 50, and starts 20 workers. Call `stop` in
 * teardown whatever happened.
 */
export async function startFailoverRun(pool: string, extraArgs: readonly string[], keys: number, track: KeypoolProcess[]): Promise<FailoverRun> {
  const options = { redisUrl: "redis://unused:1", pool, ...FAILOVER_TTL, extraArgs };
  const servers = (await Promise.all([KeypoolProcess.start(options, track), KeypoolProcess.start(options, track)])) as [KeypoolProcess, KeypoolProcess];
  await healthOf(servers, "SERVING");
  for (let made = 0; made < keys; made += 50) await servers[0].client.generateKeys({ count: Math.min(50, keys - made) });
  const ledger = new Ledger({ blockTtlMs: 600_000, keepaliveTtlMs: 1_800_000 });
  const targets = servers.map((s, i) => ({ name: "AB"[i]!, client: s.client }));
  const load = new FailoverLoad({ targets, ledger, workers: 20 });
  load.start();
  return {
    servers, targets, ledger, load,
    async stop() {
      await load.stop();
      await Promise.all(servers.map((s) => s.kill()));
    },
  };
}

/** Polls `check` every 20 ms for at most `limitMs` (waiting on processes and load, not domain time). */
export async function until(check: () => boolean, limitMs: number): Promise<void> {
  for (const deadline = Date.now() + limitMs; !check(); ) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms`);
    await sleep(20);
  }
}
