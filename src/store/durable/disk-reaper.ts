import type { Journal } from "./journal.js";
import { decodeRecord } from "./record-codec.js";
import type { StoredRecord } from "./record-codec.js";

/** Records checked per slice: about a millisecond of work. */
export const REAP_SLICE = 1024;

/**
 * Removes the records of keys that died while the server was up, so the data dir does not grow
 * with every key that ever expired. The pool reclaims dead keys without telling anyone, so the
 * reaper walks the records in key order, a bounded slice at a time, round and round: a record
 * whose life (max(record, floor)) has ended is removed once the pool confirms the key is gone
 * (`isGone`; a pending keepalive may not be on disk yet). Until a slice reaches it, a dead record
 * is harmless: recovery drops it by the watermark. Cost: O(limit) per slice; a full round is
 * O(n / limit) slices.
 */
export class DiskReaper {
  /** The last key of the previous slice; undefined to start from the first. */
  private cursor: string | undefined;

  constructor(
    private readonly journal: Journal,
    private readonly isGone: (record: StoredRecord, now: number) => boolean,
  ) {}

  /** Checks up to `limit` records after the cursor, queuing removals; returns how many it checked. */
  runSlice(now: number, floor: number, limit = REAP_SLICE): number {
    const range = this.cursor === undefined ? { limit } : { start: this.cursor, exclusiveStart: true, limit };
    let checked = 0;
    let last: string | undefined;
    for (const { key, value } of this.journal.keys.getRange(range)) {
      checked++;
      last = key;
      // An undecodable record is left for recovery to report, loudly.
      const record = decodeRecord(key, value);
      if (record && Math.max(record.expiresAt, floor) <= now && this.isGone(record, now)) this.journal.remove(key, now);
    }
    this.cursor = checked < limit ? undefined : last;
    return checked;
  }
}
