import { CooldownHeap } from "../../pool/cooldown-heap.js";
import { Float64Column } from "../../pool/columns.js";
import { systemRandom } from "../../random.js";
import type { Random } from "../../random.js";
import { backgroundScheduler } from "../../scheduler.js";
import type { Scheduler, TimerHandle } from "../../scheduler.js";
import { SweepRing } from "./sweep-ring.js";

/** What one sweep step reports: work done, the time it judged by, the next deadline (-1: none). */
export interface SweepStep {
  readonly work: number;
  readonly now: number;
  readonly next: number;
}

/** One bounded sweep step of one shard: one script on that shard's hash slot alone. */
export type SweepStepper = (budget: number) => Promise<SweepStep>;

/** Units of expiry work per sweep script: about a millisecond of Redis time. */
export const SWEEP_BUDGET = 256;
/** Idle visits per second, over all shards, unless told otherwise (see RedisSweeperOptions.idleRate). */
export const DEFAULT_IDLE_SWEEP_RATE = 100;
/** Steps one visit runs back to back before the shard goes back in line behind other due shards. */
const STEPS_PER_VISIT = 64;
/** The shortest pause before a known deadline, so a clock mismatch can never spin. */
const MIN_DELAY_MS = 10;
/** Deadline visits in flight at once (shards may live on different masters). */
const LANES = 4;

/** How a server's sweeper paces itself. */
export interface RedisSweeperOptions {
  /** `sweepIntervalMs`: while few shards share the sweeper, each is visited this often; > 0. */
  readonly intervalMs: number;
  /** The most idle visits per second over all shards (default DEFAULT_IDLE_SWEEP_RATE); > 0. */
  readonly idleRate?: number;
  /** Its timers (default: real, unref'd timers). */
  readonly scheduler?: Scheduler;
  /** Jitters the first visits, so servers sharing a Redis do not sweep in lockstep (default: systemRandom). */
  readonly random?: Random;
}

interface Member {
  readonly step: SweepStepper;
  /** When its latest visit started (scheduler time). */
  lastVisit: number;
  busy: boolean;
  /** The earliest deadline reported while a visit was in flight (the visit may have missed it); Infinity: none. */
  reported: number;
  removed: boolean;
}

/**
 * The ONE background sweeper of all the Redis shards a server serves (every pool of a RedisPools,
 * or one store's shards): it bounds Redis memory (dead keys reclaimed) and keeps counts fresh,
 * while requests stay exact without it (every script settles the keys it touches first). Its
 * cost while pools are idle does not grow with their number. A shard is visited (one or more
 * bounded sweep steps, each one script on its own slot, so Redis Cluster is respected):
 *
 * - at the deadline it knows: each visit's reply names the shard's earliest pending deadline, kept
 *   in an indexed min-heap of shards, so one timer serves them all; a visit that found a full
 *   budget of work runs up to STEPS_PER_VISIT steps back to back, then goes back in line at once
 *   (a backlog is swept without pause, in bounded steps, up to LANES shards at a time);
 * - at the deadline a call of this server made there (`report`: a new life, block or cooldown), so
 *   a pool in use costs a visit per deadline its calls make earlier than the known one (at most
 *   one per distinct deadline, e.g. one per block TTL under steady acquire/release), not one a
 *   second;
 * - in turn, round-robin (see SweepRing): one visit per tick of max(intervalMs / shards,
 *   1000 / idleRate) ms, skipping a shard visited less than `intervalMs` before. This finds what
 *   other servers did (a deadline earlier than the known one) and retries after a failure.
 *
 * Bound: every shard is visited at least once every 2 · max(intervalMs, shards · 1000 / idleRate)
 * ms (plus the visits' own time), so a key dead for that long has been reclaimed, whoever made it;
 * known deadlines are settled at their instant (MIN_DELAY_MS late at worst). Idle cost: at most `idleRate` scripts per second
 * per server, plus one visit per known deadline. First visits are jittered over `intervalMs`,
 * the ring's phase too. Failures (Redis down) are ignored: the ring visits the shard again.
 */
export class RedisSweeper {
  private readonly members: Member[] = [];
  private readonly due = new Float64Column();
  private readonly heap = new CooldownHeap(this.due);
  private readonly ring: SweepRing;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly visits = new Set<Promise<void>>();
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;
  /** Deadline visits in flight (the ring's one is not counted). */
  private lanes = 0;
  private closed = false;

  /** Throws RangeError for an interval or rate that is not positive. */
  constructor(private readonly options: RedisSweeperOptions) {
    const rate = options.idleRate ?? DEFAULT_IDLE_SWEEP_RATE;
    if (!(options.intervalMs > 0)) throw new RangeError(`a sweep interval must be positive (got ${options.intervalMs})`);
    if (!(rate > 0)) throw new RangeError(`an idle sweep rate must be positive (got ${rate})`);
    this.scheduler = options.scheduler ?? backgroundScheduler;
    this.random = options.random ?? systemRandom;
    this.ring = new SweepRing({
      tickMs: (shards) => Math.max(Math.ceil(options.intervalMs / Math.max(1, shards)), Math.ceil(1000 / rate)),
      scheduler: this.scheduler,
      random: this.random,
      visit: (id) => this.ringVisit(id),
    });
  }

  /** Adds a shard; its first visit comes at a random instant within `intervalMs`. Returns its id. O(log shards). */
  add(step: SweepStepper): number {
    const id = this.members.length;
    this.members.push({ step, lastVisit: -Infinity, busy: false, reported: Infinity, removed: false });
    this.due.reserve(id + 1);
    this.heap.reserve(id + 1);
    if (this.closed) return id;
    this.queue(id, this.scheduler.now() + this.random.int(this.options.intervalMs));
    this.ring.add(id);
    return id;
  }

  /**
   * Hears that a call of this server gave shard `id` a deadline `delayMs` from now: it is visited
   * then (or earlier, for a deadline it knew). O(1) when its entry is already at or before it
   * (the common case: calls keep making later deadlines), else O(log shards).
   */
  report(id: number, delayMs: number): void {
    const m = this.members[id];
    if (!m || m.removed || this.closed) return;
    const at = this.scheduler.now() + Math.max(MIN_DELAY_MS, delayMs);
    if (m.busy) m.reported = Math.min(m.reported, at);
    else this.queue(id, at);
  }

  /** Stops visiting shard `id` (a visit in flight ends after its step). O(log shards). */
  remove(id: number): void {
    const m = this.members[id];
    if (!m || m.removed) return;
    m.removed = true;
    if (this.heap.has(id)) this.heap.remove(id);
    this.ring.remove(id);
  }

  /** Resolves once no visit is in flight (one that starts meanwhile is waited for too). */
  async settled(): Promise<void> {
    while (this.visits.size > 0) await Promise.all([...this.visits]);
  }

  /** Stops every timer and visits nothing more; resolves once the visits in flight ended. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    this.ring.close();
    await this.settled();
  }

  /** Moves shard `id`'s entry to `at` when that is earlier than its entry, or it has none; re-arms the timer. */
  private queue(id: number, at: number): void {
    if (!this.heap.has(id)) {
      this.due.set(id, at);
      this.heap.push(id);
    } else if (at < this.due.get(id)) {
      this.due.set(id, at);
      this.heap.update(id);
    } else {
      return;
    }
    this.arm();
  }

  /** Keeps one timer at the heap's earliest entry (an earlier timer left armed only wakes early). */
  private arm(): void {
    const top = this.heap.top;
    if (this.closed || top === -1) return;
    const at = this.due.get(top);
    if (this.timer !== undefined && this.timerDue <= at) return;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timerDue = at;
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.pump();
    }, at - this.scheduler.now());
  }

  /**
   * Starts visits of due shards, earliest first, while lanes are free; then re-arms, unless every
   * lane is busy (a visit that ends pumps again: a timer now would only spin).
   */
  private pump(): void {
    const now = this.scheduler.now();
    for (let top = this.heap.top; !this.closed && this.lanes < LANES && top !== -1 && this.due.get(top) <= now; top = this.heap.top) {
      this.heap.remove(top);
      this.lanes++;
      this.start(top, () => {
        this.lanes--;
        this.pump();
      });
    }
    if (this.lanes < LANES) this.arm();
  }

  /**
   * The ring's turn of shard `id`: a visit unless it is busy or was visited less than `intervalMs`
   * ago. A later deadline it was queued for stays known (the visit's reply may name it only
   * MIN_DELAY_MS late).
   */
  private ringVisit(id: number): Promise<void> | undefined {
    const m = this.members[id]!;
    const now = this.scheduler.now();
    if (this.closed || m.busy || now - m.lastVisit < this.options.intervalMs) return undefined;
    const known = this.heap.has(id) ? this.due.get(id) : Infinity;
    if (known < Infinity) this.heap.remove(id);
    const visit = this.start(id, () => {});
    if (known > now) m.reported = known;
    return visit;
  }

  /** Visits shard `id`, then (busy no more, in one synchronous step) queues it for the visit it asks for. */
  private start(id: number, done: () => void): Promise<void> {
    const m = this.members[id]!;
    m.busy = true;
    m.reported = Infinity;
    m.lastVisit = this.scheduler.now();
    const visit = this.visit(m).then((asked) => {
      m.busy = false;
      this.visits.delete(visit);
      const next = Math.min(asked, m.reported);
      if (!this.closed && !m.removed && next < Infinity) this.queue(id, next);
      done();
    });
    this.visits.add(visit);
    return visit;
  }

  /** Runs bounded steps on a shard; resolves to when its last reply asks for the next visit (Infinity: no deadline known). Never rejects. */
  private async visit(m: Member): Promise<number> {
    try {
      for (let i = 1; ; i++) {
        const s = await m.step(SWEEP_BUDGET);
        if (this.closed || m.removed) return Infinity;
        if (s.work < SWEEP_BUDGET) return s.next < 0 ? Infinity : this.scheduler.now() + Math.max(MIN_DELAY_MS, s.next - s.now);
        // A backlog: back in line behind the other due shards.
        if (i === STEPS_PER_VISIT) return this.scheduler.now();
      }
    } catch {
      // Redis down or slow: no deadline known; the ring (or a call's report) brings it back.
      return Infinity;
    }
  }
}

/** The settings a store turns into a sweeper of its own. */
export interface OwnSweeperSettings {
  /** RedisSweeperOptions.intervalMs (default 1000); 0: no sweeper. */
  readonly sweepIntervalMs?: number | undefined;
  /** RedisSweeperOptions.idleRate. */
  readonly idleSweepRate?: number | undefined;
  /** RedisSweeperOptions.scheduler. */
  readonly scheduler?: Scheduler | undefined;
  /** RedisSweeperOptions.random. */
  readonly random?: Random | undefined;
}

/** The sweeper a store (or a RedisPools) makes for its shards, or undefined with `sweepIntervalMs` 0. Throws RangeError as the constructor does. */
export function ownSweeper(settings: OwnSweeperSettings): RedisSweeper | undefined {
  const intervalMs = settings.sweepIntervalMs ?? 1_000;
  if (intervalMs === 0) return undefined;
  return new RedisSweeper({ intervalMs, idleRate: settings.idleSweepRate, scheduler: settings.scheduler, random: settings.random });
}
