import type { Random } from "../../random.js";
import type { Scheduler, TimerHandle } from "../../scheduler.js";

/** How a SweepRing paces its turns and what a turn does. */
export interface SweepRingOptions {
  /** The pause between two turns, given the members' count. */
  readonly tickMs: (members: number) => number;
  readonly scheduler: Scheduler;
  /** Draws the phase of the first turn. */
  readonly random: Random;
  /** Member `id`'s turn: a visit to wait for before the next turn, or undefined when it is skipped. */
  readonly visit: (id: number) => Promise<void> | undefined;
}

/**
 * The round-robin half of RedisSweeper: members (shard ids) take turns, one per tick, ONE timer
 * for all of them and at most one turn in flight, so turns come at most once per `tickMs` however
 * many members there are, and each member's turn comes once every `members · tickMs` (plus the
 * visits' own time). The next tick is timed from the end of a turn's visit, so a slow Redis slows
 * the ring rather than piling visits up. The first tick comes at a random instant within one
 * tick. Members removed are dropped when the cursor meets them. O(1) amortized per turn.
 */
export class SweepRing {
  private readonly ids: number[] = [];
  private readonly gone = new Set<number>();
  private cursor = 0;
  private timer: TimerHandle | undefined;
  /** A tick is armed or its turn is in flight. */
  private running = false;
  private closed = false;

  constructor(private readonly options: SweepRingOptions) {}

  /** Members now. O(1). */
  get size(): number {
    return this.ids.length - this.gone.size;
  }

  /** Adds member `id` at the end of the ring; starts ticking if it was not. O(1). */
  add(id: number): void {
    if (this.closed) return;
    this.ids.push(id);
    if (this.running) return;
    this.running = true;
    this.later(this.options.random.int(this.options.tickMs(this.size)));
  }

  /** Removes member `id` (its turn will not come again). O(1). */
  remove(id: number): void {
    this.gone.add(id);
  }

  /** Stops the timer; a turn in flight ends, and no other comes. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private later(ms: number): void {
    this.timer = this.options.scheduler.setTimeout(() => {
      this.timer = undefined;
      void this.turn();
    }, ms);
  }

  private async turn(): Promise<void> {
    const id = this.next();
    if (id !== undefined) await this.options.visit(id);
    if (this.closed || this.size === 0) {
      this.running = false;
      return;
    }
    this.later(this.options.tickMs(this.size));
  }

  /** The member whose turn it is, dropping removed ones on the way; undefined when none is left. */
  private next(): number | undefined {
    while (this.ids.length > 0) {
      if (this.cursor >= this.ids.length) this.cursor = 0;
      const id = this.ids[this.cursor]!;
      if (!this.gone.has(id)) {
        this.cursor++;
        return id;
      }
      // Swap-remove: the last member takes the hole and its turn comes next.
      this.ids[this.cursor] = this.ids[this.ids.length - 1]!;
      this.ids.pop();
      this.gone.delete(id);
    }
    return undefined;
  }
}
