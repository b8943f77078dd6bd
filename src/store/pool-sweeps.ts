import { CooldownHeap } from "../pool/cooldown-heap.js";
import { Float64Column } from "../pool/columns.js";
import type { Sweepable } from "./sweeper.js";

/**
 * What the shared sweeper drives: a pool, which may offer a cheap `deadlineBound` (at or before
 * its next deadline) for `report` to use instead of the exact `nextDeadline`.
 */
export interface SweptPool extends Sweepable {
  deadlineBound?(): number;
}

/** A pool the shared sweeper drives, and whom to tell when its sweep freed keys. */
interface Member {
  readonly target: SweptPool;
  readonly onSwept: (done: number) => void;
}

/**
 * Many pools behind ONE sweeper (one timer for the whole process, never one per pool): the
 * pools sit in an indexed min-heap by a deadline at or before each pool's next one, so the next
 * deadline of all pools is O(1) and a sweep visits only pools that may have due work, earliest
 * first. `report` (called after every change to a pool) moves an entry only when the pool's
 * deadline moved EARLIER than its entry; a deadline that moved later leaves the entry early
 * (stale), and the sweep that reaches it re-keys it for one empty visit. So an acquire + release
 * pair, which moves a pool's deadline earlier and back, costs one heap fix-up per pool per
 * block TTL instead of two per call. Invariant: every entry <= its pool's next deadline, so the
 * sweeper wakes early at worst, never late. O(1) per report that changes nothing, O(log pools)
 * per entry moved and per pool visited.
 */
export class PoolSweeps implements Sweepable {
  private readonly due = new Float64Column();
  private readonly heap = new CooldownHeap(this.due);
  private readonly members: Member[] = [];

  /** Adds a pool; returns its id for `report`. `onSwept(done)` hears each sweep of it that did work. O(log pools). */
  add(target: SweptPool, onSwept: (done: number) => void): number {
    const id = this.members.length;
    this.members.push({ target, onSwept });
    this.due.reserve(id + 1);
    this.heap.reserve(id + 1);
    this.due.set(id, target.nextDeadline() ?? Infinity);
    this.heap.push(id);
    return id;
  }

  /**
   * Hears that pool `id` changed: moves its entry only if its next deadline is now earlier than
   * the entry (a later one leaves the entry early; see the class comment). `bound`, when the
   * caller has it, is at or before the pool's next deadline (saves reading the pool). O(1),
   * O(log pools) when the entry moves.
   */
  report(id: number, bound?: number): void {
    // A bound below the exact deadline leaves the entry early, which the invariant allows.
    const next = bound ?? this.boundOf(this.members[id]!.target);
    if (next >= this.due.get(id)) return;
    this.due.set(id, next);
    this.heap.update(id);
  }

  /** Sweeps due pools, earliest deadline first, up to `budget` units in all. */
  sweep(now: number, budget: number): number {
    let work = 0;
    for (let id = this.heap.top; work < budget && id !== -1 && this.due.get(id) <= now; id = this.heap.top) {
      const { target, onSwept } = this.members[id]!;
      const done = target.sweep(now, budget - work);
      work += done;
      this.rekey(id);
      if (done > 0) onSwept(done);
      // A stale entry (no work due after all) was re-keyed to a later deadline: go on with the next.
      else if (this.due.get(id) <= now) break;
    }
    return work;
  }

  private boundOf(target: SweptPool): number {
    return target.deadlineBound?.() ?? target.nextDeadline() ?? Infinity;
  }

  /** Sets pool `id`'s entry to its exact next deadline, later or earlier. O(log pools). */
  private rekey(id: number): void {
    this.due.set(id, this.members[id]!.target.nextDeadline() ?? Infinity);
    this.heap.update(id);
  }

  nextDeadline(): number | undefined {
    const top = this.heap.top;
    const next = top === -1 ? Infinity : this.due.get(top);
    return next === Infinity ? undefined : next;
  }
}
