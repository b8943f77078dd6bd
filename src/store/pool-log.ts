import type { KeyInfo } from "../pool/index.js";

/**
 * Where an embedded store makes its pool's changes durable (the data dir's journal), if anywhere.
 * The store changes its in-memory pool first, queues the change here, and answers once
 * `barrier()` resolves. Every method but `barrier` and `close` is O(1) and does no I/O itself.
 */
export interface PoolLog {
  /** The first fault (a failed write, a lost dir); once set, the store stops serving. Sticky. */
  readonly failed: Error | undefined;
  /** Queues `info` as the key's record. */
  put(info: KeyInfo, now: number): void;
  /** Queues the removal of `key`'s record. */
  remove(key: string, now: number): void;
  /**
   * Call before an answer that may tell a caller a key died (NOT_FOUND, `found: false`): records
   * what is needed so a crash never brings that key back.
   */
  deathsSeen(now: number): void;
  /** Resolves once every change queued so far is on disk; rejects UNAVAILABLE once failed. */
  barrier(): Promise<void>;
  /** Calls `listener` once, at the first fault. */
  onFailure(listener: () => void): void;
  /** The start-up log's details: where the data lives and what its recovery found. */
  details(): Readonly<Record<string, unknown>>;
  /** Stops background upkeep, waits for queued writes, closes the dir. Idempotent. */
  close(now: number): Promise<void>;
}
