import { KeyPoolError } from "../pool/index.js";
import type { KeyInfo } from "../pool/index.js";
import { MAX_WAIT_MS, messages } from "../pool/rules.js";
import type { Scheduler, TimerHandle } from "../scheduler.js";
import type { KeyStore } from "./key-store.js";

export { MAX_WAIT_MS } from "../pool/rules.js";

interface Waiter {
  readonly resolve: (key: KeyInfo) => void;
  readonly reject: (err: unknown) => void;
  readonly cleanup: () => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
  done: boolean;
}

/** A count of waiting callers shared by several queues, so one limit covers them all. */
export interface WaiterTally {
  count: number;
}

/** What a queue needs of its pool's store. */
export type QueueStore = Pick<KeyStore, "acquire" | "release" | "onKeysFreed">;

/** Settings of an acquire queue. */
export interface AcquireQueueOptions {
  /** Most callers waiting at once (over `tally`'s queues, if given); beyond it RESOURCE_EXHAUSTED. */
  readonly maxWaiters: number;
  /** The count `maxWaiters` limits, when queues share one (a queue per pool); default its own. */
  readonly tally?: WaiterTally;

  /** How often waiters retry when the store sends no event (keys freed on other servers). */
  readonly pollMs?: number;
  /** The waits' deadlines and the poll follow it. */
  readonly scheduler: Scheduler;
}

/**
 * Waiting acquire over any KeyStore. Rules:
 *
 * - Every caller tries the store once on arrival, waiters or not: a caller is never made to wait
 *   while a key is free. Waiters are served strictly in arrival order among themselves. Keys freed
 *   through this store reach the oldest waiter before any later caller can see them (the store
 *   signals synchronously with the change), so a newcomer only ever takes a key this server had
 *   not yet heard of (one freed on another server of a shared pool, before its event arrived).
 * - A key acquired for the queue goes to the oldest waiter still waiting, or back to the pool:
 *   a waiter that gave up (its wait ended, its call was cancelled) never receives one.
 * - A fault of the store while serving waiters (UNAVAILABLE, or any unexpected error) ends every
 *   wait with that error at once: an outage is never reported as "no key became free".
 * - A cancelled call ends with CANCELLED; shutdown ends every wait with UNAVAILABLE.
 *
 * Enqueue, give up and serve are O(1) per waiter (an intrusive doubly-linked list); one timer per
 * waiter and one poll timer, all on the injected scheduler.
 */
export class AcquireQueue {
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private count = 0;
  private serving = false;
  private kickedWhileServing = false;
  private poll: TimerHandle | undefined;
  private readonly unsubscribe: () => void;
  private readonly scheduler: Scheduler;
  private readonly tally: WaiterTally;

  constructor(
    private readonly store: QueueStore,
    private readonly options: AcquireQueueOptions,
  ) {
    this.scheduler = options.scheduler;
    this.tally = options.tally ?? { count: 0 };
    this.unsubscribe = store.onKeysFreed(() => this.kick());
  }

  /** Callers waiting now. */
  get size(): number {
    return this.count;
  }

  /**
   * Acquires a key, waiting up to `waitMs` (0: not at all) or until `signal` aborts.
   * Rejects NOT_FOUND when no key became free in time, CANCELLED when `signal` aborted first,
   * UNAVAILABLE (or the store's own error) when the store failed.
   */
  async acquire(waitMs: number, signal: AbortSignal): Promise<KeyInfo> {
    if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) {
      throw new KeyPoolError("invalid-argument", messages.waitOutOfRange(waitMs));
    }
    try {
      return await this.store.acquire();
    } catch (err) {
      if (waitMs === 0 || !isNotFound(err)) throw err;
    }
    if (signal.aborted) throw cancelled();
    if (this.tally.count >= this.options.maxWaiters) {
      throw new KeyPoolError("resource-exhausted", `${this.tally.count} callers are already waiting for a key (limit --max-waiters); retry later`);
    }
    return this.enqueue(waitMs, signal);
  }

  /** Rejects every waiter with UNAVAILABLE and stops polling (shutdown). */
  close(): void {
    this.unsubscribe();
    this.rejectAll(shuttingDown());
    if (this.poll !== undefined) this.scheduler.clearTimeout(this.poll);
    this.poll = undefined;
  }

  private enqueue(waitMs: number, signal: AbortSignal): Promise<KeyInfo> {
    return new Promise<KeyInfo>((resolve, reject) => {
      const timer = this.scheduler.setTimeout(
        () => this.settle(waiter, () => reject(new KeyPoolError("not-found", messages.noKeyWithin(waitMs)))),
        waitMs,
      );
      const onAbort = (): void => this.settle(waiter, () => reject(cancelled()));
      const waiter: Waiter = {
        resolve, reject, prev: this.tail, next: undefined, done: false,
        cleanup: () => {
          this.scheduler.clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
        },
      };
      if (this.tail) this.tail.next = waiter;
      else this.head = waiter;
      this.tail = waiter;
      this.count++;
      this.tally.count++;
      signal.addEventListener("abort", onAbort, { once: true });
      this.schedulePoll();
    });
  }

  /** Unlinks a waiter once and runs `outcome`. O(1). */
  private settle(waiter: Waiter, outcome: () => void): void {
    if (waiter.done) return;
    waiter.done = true;
    waiter.cleanup();
    if (waiter.prev) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    this.count--;
    this.tally.count--;
    outcome();
  }

  private rejectAll(err: unknown): void {
    for (let waiter = this.head; waiter; waiter = this.head) {
      const gone = waiter;
      this.settle(gone, () => gone.reject(err));
    }
  }

  private kick(): void {
    if (this.serving) {
      this.kickedWhileServing = true; // never lose a wake-up that raced a serving round
      return;
    }
    if (!this.head) return;
    this.serving = true;
    this.kickedWhileServing = false;
    void this.serve().finally(() => {
      this.serving = false;
      if (this.kickedWhileServing) this.kick();
      this.schedulePoll();
    });
  }

  /** Hands keys to waiters in order while the store has free keys. */
  private async serve(): Promise<void> {
    while (this.head) {
      let key: KeyInfo;
      try {
        key = await this.store.acquire();
      } catch (err) {
        if (!isNotFound(err)) this.rejectAll(err); // a fault: nobody waits on a store that cannot serve
        return; // none free: wait for the next event or poll
      }
      const waiter = this.head;
      if (waiter) this.settle(waiter, () => waiter.resolve(key));
      else await this.giveBack(key); // everyone gave up meanwhile
    }
  }

  /** Releases a key nobody is left to receive, under its own lease (a later holder is safe). */
  private async giveBack(key: KeyInfo): Promise<void> {
    await this.store.release(key.key, key.leaseId).catch(() => {}); // failed: its block TTL frees it
  }

  private schedulePoll(): void {
    if (this.poll !== undefined || !this.head) return;
    this.poll = this.scheduler.setTimeout(() => {
      this.poll = undefined;
      this.kick();
      this.schedulePoll();
    }, this.options.pollMs ?? 100);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof KeyPoolError && err.code === "not-found";
}

/** What a wait ends with when the server shuts down. */
export function shuttingDown(): KeyPoolError {
  return new KeyPoolError("unavailable", "the server is shutting down; retry on another server");
}

function cancelled(): KeyPoolError {
  return new KeyPoolError("cancelled", "the call was cancelled before a key became free");
}
