import { KeyPoolError } from "../pool/index.js";
import type { KeyInfo } from "../pool/index.js";
import type { KeyStore } from "./key-store.js";

/** The longest wait an AcquireKey may ask for. */
export const MAX_WAIT_MS = 300_000;

interface Waiter {
  readonly resolve: (key: KeyInfo) => void;
  readonly reject: (err: unknown) => void;
  readonly cleanup: () => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
  done: boolean;
}

/** Settings of an acquire queue. */
export interface AcquireQueueOptions {
  /** Most callers waiting at once; beyond it RESOURCE_EXHAUSTED. */
  readonly maxWaiters: number;
  /** How often waiters retry when the store sends no event (keys freed on other servers). */
  readonly pollMs?: number;
}

/**
 * Waiting acquire over any KeyStore: callers that find no free key wait in arrival order and are
 * served first come, first served when the store reports freed keys (or at the next poll, for
 * keys freed elsewhere). A waiter that gave up (timeout, cancel) never receives a key: a key
 * acquired for it goes to the next waiter or back to the pool. Enqueue, give up and serve are
 * O(1) per waiter (an intrusive doubly-linked list).
 */
export class AcquireQueue {
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private count = 0;
  private serving = false;
  private kickedWhileServing = false;
  private poll: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: KeyStore,
    private readonly options: AcquireQueueOptions,
  ) {
    this.unsubscribe = store.onKeysFreed(() => this.kick());
  }

  /** Callers waiting now. */
  get size(): number {
    return this.count;
  }

  /**
   * Acquires a key, waiting up to `waitMs` (0: not at all) or until `signal` aborts.
   * Rejects NOT_FOUND when no key became free in time.
   */
  async acquire(waitMs: number, signal: AbortSignal): Promise<KeyInfo> {
    if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) {
      throw new KeyPoolError("invalid-argument", `wait must be between 0 and ${MAX_WAIT_MS / 1000}s (got ${waitMs} ms)`);
    }
    if (waitMs === 0 || this.count === 0) {
      try {
        return await this.store.acquire();
      } catch (err) {
        if (waitMs === 0 || !(err instanceof KeyPoolError && err.code === "not-found")) throw err;
      }
    }
    if (this.count >= this.options.maxWaiters) {
      throw new KeyPoolError("resource-exhausted", `${this.count} callers are already waiting for a key (limit --max-waiters); retry later`);
    }
    return this.enqueue(waitMs, signal);
  }

  /** Rejects every waiter with UNAVAILABLE and stops polling (shutdown). */
  close(): void {
    this.unsubscribe();
    for (let waiter = this.head; waiter; waiter = this.head) {
      const gone = waiter;
      this.settle(gone, () => gone.reject(new KeyPoolError("unavailable", "the server is shutting down; retry on another server")));
    }
    if (this.poll) clearTimeout(this.poll);
  }

  private enqueue(waitMs: number, signal: AbortSignal): Promise<KeyInfo> {
    return new Promise<KeyInfo>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(waiter, () => reject(
        new KeyPoolError("not-found", `no key became free within ${waitMs} ms; release keys or generate more`),
      )), waitMs);
      const onAbort = (): void => this.settle(waiter, () => reject(new KeyPoolError("unavailable", "the call was cancelled")));
      const waiter: Waiter = {
        resolve, reject, prev: this.tail, next: undefined, done: false,
        cleanup: () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
        },
      };
      if (this.tail) this.tail.next = waiter;
      else this.head = waiter;
      this.tail = waiter;
      this.count++;
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
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
    outcome();
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
      } catch {
        return; // none free (or the store is down): wait for the next event or poll
      }
      const waiter = this.head;
      if (waiter) this.settle(waiter, () => waiter.resolve(key));
      else await this.store.release(key.key, key.leaseId).catch(() => {}); // everyone gave up meanwhile
    }
  }

  private schedulePoll(): void {
    if (this.poll || !this.head) return;
    this.poll = setTimeout(() => {
      this.poll = undefined;
      this.kick();
      this.schedulePoll();
    }, this.options.pollMs ?? 100);
    this.poll.unref();
  }
}
