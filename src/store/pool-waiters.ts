import type { KeyInfo } from "../pool/index.js";
import type { Scheduler } from "../scheduler.js";
import { AcquireQueue, shuttingDown } from "./acquire-queue.js";
import type { WaiterTally } from "./acquire-queue.js";
import type { KeyStore } from "./key-store.js";
import type { PoolSet } from "./pool-set.js";

interface Entry {
  readonly queue: AcquireQueue;
  /** Calls inside `queue.acquire` now (trying or waiting): the queue goes when none are left. */
  users: number;
  readonly wake: () => void;
}

/** Settings of the waiting acquires of a PoolSet. */
export interface PoolWaitersOptions {
  /** Most callers waiting at once over all pools; beyond it RESOURCE_EXHAUSTED. */
  readonly maxWaiters: number;
  /** How often waiters retry when no event comes (keys freed on other servers). */
  readonly pollMs?: number;
  readonly scheduler: Scheduler;
}

/**
 * Waiting AcquireKey calls per pool: one `AcquireQueue` per pool that has callers, woken by
 * `pools.onKeysFreed(pool)`, so a key freed in one pool serves that pool's oldest waiter and
 * nobody else. The queue rules (arrivals try at once, FIFO among waiters, faults end every wait,
 * a key nobody is left to receive goes back) are AcquireQueue's. A queue exists only while calls
 * use it, so memory is bounded by the callers (at most `maxWaiters` waiting, over all pools),
 * never by the pool names asked for. O(1) per call and per wake-up (a map lookup).
 */
export class PoolWaiters {
  private readonly queues = new Map<string, Entry>();
  private readonly tally: WaiterTally = { count: 0 };
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly pools: PoolSet,
    private readonly options: PoolWaitersOptions,
  ) {
    this.unsubscribe = pools.onKeysFreed((pool) => this.queues.get(pool)?.wake());
  }

  /** Callers waiting now, over all pools. O(1). */
  get size(): number {
    return this.tally.count;
  }

  /**
   * Acquires a key of pool `pool` (its full name), waiting up to `waitMs` as
   * `AcquireQueue.acquire` does; UNAVAILABLE once closed.
   */
  async acquire(pool: string, waitMs: number, signal: AbortSignal): Promise<KeyInfo> {
    if (this.closed) throw shuttingDown();
    if (waitMs === 0) return this.pools.pool(pool, false).acquire(); // no queue for a call that never waits
    const entry = this.queues.get(pool) ?? this.open(pool);
    entry.users++;
    try {
      return await entry.queue.acquire(waitMs, signal);
    } finally {
      if (--entry.users === 0 && this.queues.get(pool) === entry) {
        this.queues.delete(pool);
        entry.queue.close(); // no waiter is left in it: this only stops its timers
      }
    }
  }

  /** Ends every wait with UNAVAILABLE and refuses new ones (shutdown). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const { queue } of this.queues.values()) queue.close();
    this.queues.clear();
  }

  private open(pool: string): Entry {
    // The store is looked up on every use: a pool created after its first waiter arrived (a
    // GenerateKeys into a new pool) must serve that waiter.
    const store = (): KeyStore => this.pools.pool(pool, false);
    let wake = (): void => {};
    const queue = new AcquireQueue({
      acquire: () => store().acquire(),
      release: (key, leaseId) => store().release(key, leaseId),
      onKeysFreed: (listener) => {
        wake = listener;
        return () => {};
      },
    }, { ...this.options, tally: this.tally });
    const entry: Entry = { queue, users: 0, wake: () => wake() };
    this.queues.set(pool, entry);
    return entry;
  }
}
