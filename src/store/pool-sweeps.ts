import { CooldownHeap } from "../pool/cooldown-heap.js";
import { Float64Column } from "../pool/columns.js";
import type { Sweepable } from "./sweeper.js";

/** A pool the shared sweeper drives, and whom to tell when its sweep freed keys. */
interface Member {
  readonly target: Sweepable;
  readonly onSwept: (done: number) => void;
}

/**
 * Many pools behind ONE sweeper (one timer for the whole process, never one per pool): the
 * pools sit in an indexed min-heap by their next deadline as last reported (`report`, called
 * after every change to a pool), so the next deadline of all pools is O(1) and a sweep visits
 * only pools with due work, earliest first. A stale entry (a deadline that moved later) costs
 * one empty visit and is re-keyed. O(log pools) per report and per pool visited.
 */
export class PoolSweeps implements Sweepable {
  private readonly due = new Float64Column();
  private readonly heap = new CooldownHeap(this.due);
  private readonly members: Member[] = [];

  /** Adds a pool; returns its id for `report`. `onSwept(done)` hears each sweep of it that did work. O(log pools). */
  add(target: Sweepable, onSwept: (done: number) => void): number {
    const id = this.members.length;
    this.members.push({ target, onSwept });
    this.due.reserve(id + 1);
    this.heap.reserve(id + 1);
    this.due.set(id, target.nextDeadline() ?? Infinity);
    this.heap.push(id);
    return id;
  }

  /** Re-reads pool `id`'s next deadline after a change to it. O(log pools). */
  report(id: number): void {
    this.due.set(id, this.members[id]!.target.nextDeadline() ?? Infinity);
    this.heap.update(id);
  }

  /** Sweeps due pools, earliest deadline first, up to `budget` units in all. */
  sweep(now: number, budget: number): number {
    let work = 0;
    for (let id = this.heap.top; work < budget && id !== -1 && this.due.get(id) <= now; id = this.heap.top) {
      const { target, onSwept } = this.members[id]!;
      const done = target.sweep(now, budget - work);
      work += done;
      this.report(id);
      if (done > 0) onSwept(done);
      // A stale entry (no work due after all) was re-keyed to a later deadline: go on with the next.
      else if (this.due.get(id) <= now) break;
    }
    return work;
  }

  nextDeadline(): number | undefined {
    const top = this.heap.top;
    const next = top === -1 ? Infinity : this.due.get(top);
    return next === Infinity ? undefined : next;
  }
}
