import { KeyPoolError } from "../../pool/index.js";

/**
 * The shard-layout checks of a pool served on demand (a named pool of RedisPools; see
 * checkShardLayout): before the shards' first settings check, the recorded layout is read
 * without recording it (a read must not make the pool); before the first call that adds keys it
 * is recorded. A layout that differs is FAILED_PRECONDITION naming both counts, checked again on
 * the next call. Each check runs once while it agrees; O(1) after.
 */
export class LayoutGate {
  private read: Promise<void> | undefined;
  private recorded: Promise<void> | undefined;

  /** `check(record)` checks the layout (rejecting with a RangeError when it differs). */
  constructor(private readonly check: (record: boolean) => Promise<void>) {}

  /** Before a shard's settings check: the layout read. */
  beforeFirstUse(): Promise<void> {
    this.read ??= this.refused(this.check(false), () => (this.read = undefined));
    return this.read;
  }

  /** Before a call that adds keys: the layout recorded. */
  beforeFirstAdd(): Promise<void> {
    this.recorded ??= this.refused(this.check(true), () => (this.recorded = undefined));
    return this.recorded;
  }

  private refused(check: Promise<void>, forget: () => void): Promise<void> {
    return check.catch((err: unknown) => {
      forget();
      throw err instanceof RangeError ? new KeyPoolError("failed-precondition", err.message) : err;
    });
  }
}
