import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { KeyInfo, KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import type { Acquired, Ledger } from "./redis-ledger.js";
import { KeepAliveStream } from "./redis-streams.js";

/** One server the load is spread over. */
export interface LoadTarget {
  readonly name: string;
  readonly client: TypedClient<typeof KeyService>;
}

/** What happened on one target. */
export interface TargetReport {
  calls: number;
  ok: number;
  acquired: number;
  /** Calls answered with each status code name (OK excluded). */
  readonly codes: Record<string, number>;
}

/** Settings of a load run. */
export interface LoadOptions {
  readonly targets: readonly LoadTarget[];
  readonly ledger: Ledger;
  readonly workers: number;
  /** Seeds each worker's choices (timing still varies run to run). */
  readonly seed: number;
  /** Status code names a call may end with besides OK; any other is reported unexpected. */
  readonly allowed: ReadonlySet<string>;
}

/** Workers stop by themselves this long after `start`, whatever happens to the test. */
const LIMIT_MS = 60_000;

/** The outcome of one call: its value, or its status code name and message. */
type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: string; readonly details: string };

type Held = Acquired & { readonly target: LoadTarget };

/** Per-call deadline: generous, so a DEADLINE_EXCEEDED means something hung. */
const CALL_MS = 5_000;

/** mulberry32: a tiny seeded generator, so each worker's mix of calls is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The ledger's view of an acquired key from its KeyInfo. */
export function acquiredOf(key: KeyInfo): Acquired {
  return { key: key.key, leaseId: key.leaseId, blockedUntil: timestampMs(key.blockedUntil!), expiresAt: timestampMs(key.expiresAt!) };
}

/**
 * Workers that hammer every target with the whole API: acquire (plain and waiting), release with
 * the lease id (on time and late), keepalive (unary and over streams), delete, generate, abandon
 * held keys to their automatic release. Every answer goes through the ledger; every status is
 * counted per target; a status outside `allowed` is kept in `unexpected`.
 */
export class Load {
  readonly reports = new Map<string, TargetReport>();
  readonly unexpected: string[] = [];
  /** The distinct UNAVAILABLE messages seen (bounded). */
  readonly unavailable = new Set<string>();
  private running = false;
  private deadline = 0;
  private paused = false;
  /** Workers in the middle of a step (a call or two). */
  private busy = 0;
  private workers: Promise<void>[] = [];
  private readonly streams: KeepAliveStream[] = [];

  constructor(private readonly options: LoadOptions) {
    for (const t of options.targets) this.reports.set(t.name, { calls: 0, ok: 0, acquired: 0, codes: {} });
  }

  /** Starts the workers. */
  start(): void {
    this.running = true;
    this.deadline = Date.now() + LIMIT_MS;
    this.workers = Array.from({ length: this.options.workers }, (_, i) => this.worker(seeded(this.options.seed + i)));
  }

  /**
   * Lets the workers run for at least `minMs` and then until `enough()` holds, for at most
   * `maxMs` in all (a slow, shared machine gets more time, never unbounded). Real time on purpose:
   * server processes judge real deadlines through Redis TIME.
   */
  async runFor(minMs: number, maxMs: number, enough: () => boolean): Promise<void> {
    const started = Date.now();
    await sleep(minMs);
    while (!enough() && Date.now() - started < maxMs) await sleep(100);
  }

  /** Holds every worker before its next step; resolves once no call is in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    for (let waited = 0; this.busy > 0; waited += 5) {
      if (waited > 2 * CALL_MS) throw new Error(`${this.busy} workers still busy ${waited} ms after pause`);
      await sleep(5);
    }
  }

  /** Lets the workers go on after `pause`. */
  resume(): void {
    this.paused = false;
  }

  /** Stops the workers, waits for their calls to end, closes the streams. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    for (const stream of this.streams.splice(0)) stream.close();
  }

  private async worker(random: () => number): Promise<void> {
    const streams = new Map<string, KeepAliveStream>();
    const stream = (t: LoadTarget): KeepAliveStream => {
      let s = streams.get(t.name);
      if (!s || s.ended) {
        s = new KeepAliveStream(t.client);
        streams.set(t.name, s);
        this.streams.push(s);
      }
      return s;
    };
    const late: Held[] = [];
    let held: Held | undefined;
    while (this.running && Date.now() < this.deadline) {
      if (this.paused) {
        await sleep(10);
        continue;
      }
      const t = this.options.targets[Math.floor(random() * this.options.targets.length)]!;
      this.busy++;
      try {
        if (held) held = await this.holding(t, held, random, late, stream);
        else held = await this.idle(t, random, late, stream);
      } finally {
        this.busy--;
      }
    }
  }

  /** One step without a key: mostly acquire; else keep alive, delete or generate keys seen lately. */
  private async idle(t: LoadTarget, random: () => number, late: Held[], stream: (t: LoadTarget) => KeepAliveStream): Promise<Held | undefined> {
    const r = random();
    const { ledger } = this.options;
    if (r < 0.6) return this.acquire(t, random() < 0.25 ? 250 : 0);
    const key = ledger.pick(random);
    if (!key) return undefined;
    if (r < 0.67) await this.keepAlive(t, key);
    else if (r < 0.74) await this.streamKeepAlive(t, stream(t), [key, ledger.pick(random)!, ledger.pick(random)!]);
    else if (r < 0.76) {
      const o = await this.call(t, "DeleteKey", () => t.client.deleteKey({ key }, { timeoutMs: CALL_MS }), key);
      if (o.ok) ledger.deleted(key);
    } else if (r < 0.8 && late.length > 0) await this.release(t, late.shift()!);
    else if (r < 0.82) await this.generate(t, 1 + Math.floor(random() * 4));
    else if (r < 0.84) await this.call(t, "GetPoolStats", () => t.client.getPoolStats({}, { timeoutMs: CALL_MS }));
    else await this.call(t, "GetKey", () => t.client.getKey({ key }, { timeoutMs: CALL_MS }), key);
    return undefined;
  }

  /** One step with a key: release it, keep it alive, delete it, abandon it, or look at it. */
  private async holding(t: LoadTarget, held: Held, random: () => number, late: Held[], stream: (t: LoadTarget) => KeepAliveStream): Promise<Held | undefined> {
    const r = random();
    if (r < 0.5) {
      await this.release(t, held);
      return undefined;
    }
    if (r < 0.55) await this.keepAlive(t, held.key);
    else if (r < 0.6) await this.streamKeepAlive(t, stream(t), [held.key]);
    else if (r < 0.75) await this.call(t, "GetKey", () => t.client.getKey({ key: held.key }, { timeoutMs: CALL_MS }), held.key);
    else if (r < 0.78) {
      const o = await this.call(t, "DeleteKey", () => t.client.deleteKey({ key: held.key }, { timeoutMs: CALL_MS }), held.key);
      if (o.ok) this.options.ledger.deleted(held.key);
      return undefined;
    } else {
      // Abandoned: it frees itself at blocked_until; sometimes released late, after someone else got it.
      if (late.length < 8) late.push(held);
      return undefined;
    }
    return held;
  }

  private async acquire(t: LoadTarget, waitMs: number): Promise<Held | undefined> {
    const wait = waitMs > 0 ? { seconds: 0n, nanos: waitMs * 1_000_000 } : undefined;
    const o = await this.call(t, "AcquireKey", () => t.client.acquireKey({ wait }, { timeoutMs: CALL_MS }));
    if (!o.ok) {
      if (o.code === "NOT_FOUND" && waitMs === 0) await this.generate(t, 2);
      return undefined;
    }
    const got = acquiredOf(o.value.key!);
    this.reports.get(t.name)!.acquired++;
    this.options.ledger.acquired(got, `${waitMs > 0 ? "waiting AcquireKey" : "AcquireKey"} via ${t.name}`);
    return { ...got, target: t };
  }

  private async release(t: LoadTarget, held: Held): Promise<void> {
    this.options.ledger.releasing(held.key, held.leaseId);
    const request = { key: held.key, leaseId: held.leaseId };
    await this.call(t, "ReleaseKey", () => t.client.releaseKey(request, { timeoutMs: CALL_MS }), held.key);
  }

  private async generate(t: LoadTarget, count: number): Promise<void> {
    const o = await this.call(t, "GenerateKeys", () => t.client.generateKeys({ count }, { timeoutMs: CALL_MS }));
    if (o.ok) this.options.ledger.generated(o.value.keys.map((k) => ({ key: k.key, expiresAt: timestampMs(k.expiresAt!) })));
  }

  private async keepAlive(t: LoadTarget, key: string): Promise<void> {
    const done = this.options.ledger.keepingAlive(key, `KeepAliveKey via ${t.name}`);
    const o = await this.call(t, "KeepAliveKey", () => t.client.keepAliveKey({ key }, { timeoutMs: CALL_MS }));
    done(o.ok ? { expiresAt: timestampMs(o.value.key!.expiresAt!) } : o.code === "NOT_FOUND" ? "not-found" : "failed");
  }

  private async streamKeepAlive(t: LoadTarget, stream: KeepAliveStream, keys: readonly string[]): Promise<void> {
    const done = keys.map((key) => this.options.ledger.keepingAlive(key, `KeepAlive stream via ${t.name}`));
    const o = await this.call(t, "KeepAlive", () => stream.send(keys));
    keys.forEach((_, i) => {
      const result = o.ok ? o.value[i] : undefined;
      done[i]!(!result ? "failed" : result.found ? { expiresAt: timestampMs(result.expiresAt!) } : "not-found");
    });
  }

  /** Runs one call and counts its status on `t`; a NOT_FOUND for a named key goes to the ledger. */
  private async call<T>(t: LoadTarget, method: string, run: () => Promise<T>, key?: string): Promise<Outcome<T>> {
    const report = this.reports.get(t.name)!;
    report.calls++;
    try {
      const value = await run();
      report.ok++;
      return { ok: true, value };
    } catch (err) {
      const e = err as grpc.ServiceError;
      const code = grpc.status[e.code] ?? String(e.code);
      report.codes[code] = (report.codes[code] ?? 0) + 1;
      if (code === "NOT_FOUND" && key !== undefined) this.options.ledger.notFound(key);
      if (code === "UNAVAILABLE" && this.unavailable.size < 20) this.unavailable.add(`${method}: ${e.details}`);
      if (!this.options.allowed.has(code) && this.unexpected.length < 20) this.unexpected.push(`${method} via ${t.name}: ${code} ${e.details}`);
      return { ok: false, code, details: e.details };
    }
  }
}
