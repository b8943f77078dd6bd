import { join } from "node:path";
import { open } from "lmdb";
import type { Database, RootDatabase } from "lmdb";
import { KeyPoolError } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";
import { DATA_FILE, DataDirError, FORMAT, damagedData as damaged, ioError } from "./data-dir.js";
import type { DirState } from "./data-dir.js";
import { readLmdbHeader } from "./lmdb-header.js";
import { probeReadable } from "./read-probe.js";
import { encodeRecord } from "./record-codec.js";

/** What the data dir remembers besides the keys. Times are ms since the Unix epoch. */
export interface JournalMeta {
  /**
   * The latest instant the server is known to have been running. A key whose life ended at or
   * before it died while the server was up; one that ended after it died while the server was down.
   */
  readonly watermark: number;
  /** Every key lives at least until here: the last restart's grace (restart + keepalive TTL). */
  readonly floor: number;
}

/** A write promise of lmdb-js opened with `separateFlushed`: resolves at commit, `flushed` at fsync. */
type WritePromise = Promise<boolean> & { flushed?: Promise<unknown> };

/**
 * The data dir's database (LMDB through lmdb-js): one record per key (see record-codec) and a few
 * meta values. Writes are queued in call order and group-committed: every write queued during one
 * event-loop turn shares one transaction, committed and fsynced on lmdb-js's worker thread, never
 * blocking the event loop. `barrier()` resolves once every write queued before it is on disk.
 * After any failed commit the journal is failed for good: `barrier()` rejects UNAVAILABLE.
 */
export class Journal {
  private durable: Promise<void> = Promise.resolve();
  private lastCommit: WritePromise | undefined;
  private failure: KeyPoolError | undefined;
  private failListener: ((error: KeyPoolError) => void) | undefined;
  private marked = 0;

  private constructor(
    readonly dir: string,
    private readonly root: RootDatabase,
    /** Key -> 49-byte record. */
    readonly keys: Database<Buffer, string>,
    private readonly meta: Database<number, string>,
  ) {}

  /**
   * Opens the database of a data dir that `inspectDataDir` accepted; checks the data file before
   * the engine maps it, and that a ready dir holds keypool data. Throws DataDirError. O(1).
   */
  static async open(dir: string, state: DirState): Promise<Journal> {
    if (state.hasData) await checkDataFile(dir);
    let journal: Journal;
    try {
      const root = open({ path: dir, noSubdir: false, maxDbs: 4, overlappingSync: true, separateFlushed: true });
      const keys = root.openDB<Buffer, string>({ name: "keys", encoding: "binary", compression: false, cache: false });
      const meta = root.openDB<number, string>({ name: "meta", encoding: "msgpack", cache: false });
      journal = new Journal(dir, root, keys, meta);
      Journal.handleBatchStarts(root);
    } catch (err) {
      throw damaged(dir, `the engine cannot open it (${(err as Error).message})`, err);
    }
    await journal.checkFormat(state).catch(async (err: unknown) => {
      await journal.root.close();
      throw err;
    });
    return journal;
  }

  /** The remembered watermark and floor (0 in a new dir). O(1). */
  readMeta(): JournalMeta {
    return { watermark: this.number("watermark"), floor: this.number("floor") };
  }

  /** Queues the key's record under `record` (its database key, see recordKey; last writer wins). O(1). */
  put(info: KeyInfo, now: number, record: string = info.key): void {
    this.track(this.keys.put(record, encodeRecord(info, record)));
    this.mark(now);
  }

  /** Queues the removal of the record under `record` (a database key). O(1). */
  remove(record: string, now: number): void {
    this.track(this.keys.remove(record));
    this.mark(now);
  }

  /** Queues a new watermark if time moved on since the last one. O(1). */
  mark(now: number): void {
    if (now <= this.marked) return;
    this.marked = now;
    this.track(this.meta.put("watermark", now));
  }

  /** The last watermark queued. */
  get markedAt(): number {
    return this.marked;
  }

  /** Queues a new floor. O(1). */
  setFloor(floor: number): void {
    this.track(this.meta.put("floor", floor));
  }

  /** Resolves once every write queued so far is on disk; rejects UNAVAILABLE once failed. */
  async barrier(): Promise<void> {
    await this.durable;
    if (this.failure) throw this.failure;
  }

  /** The error the journal failed with, if it did. */
  get failed(): KeyPoolError | undefined {
    return this.failure;
  }

  /** Calls `listener` once, when the journal fails. */
  onFailure(listener: (error: KeyPoolError) => void): void {
    this.failListener = listener;
  }

  /**
   * Waits for queued writes, writes a last watermark of `now` in a transaction of its own (so a
   * cleanly closed file never ends on a mass delete, whose unwritten free pages make the file look
   * short to `readLmdbHeader`), then closes the database.
   */
  async close(now: number): Promise<void> {
    await this.durable;
    if (!this.failure) {
      this.marked = Math.max(this.marked, now);
      this.track(this.meta.put("watermark", this.marked));
      await this.durable;
    }
    // After a failed commit lmdb-js's close waits for a flush that never comes: let it finish on
    // its own (the process is to be restarted anyway) rather than hang the shutdown.
    if (this.failure) void this.root.close().catch(() => undefined);
    else await this.root.close();
  }

  /** Closes the database without writing anything more (after a failed open). */
  async abandon(): Promise<void> {
    await this.durable;
    await this.root.close();
  }

  private track(write: WritePromise): void {
    // Writes of one turn share one commit promise: one durability wait per transaction.
    if (write === this.lastCommit) return;
    this.lastCommit = write;
    this.durable = Promise.all([write, write.flushed]).then(
      () => undefined,
      (err: unknown) => this.fail(Journal.handled(err)),
    );
  }

  /**
   * lmdb-js rejects a failed commit's writes with an error whose `commitError` is a second
   * promise, rejected with the engine's error (ENOSPC, EIO) and handled by nobody: handled here,
   * so a full disk is this journal's failure, never an unhandled rejection that ends the process.
   */
  private static handled(err: unknown): unknown {
    const inner = (err as { commitError?: unknown } | undefined)?.commitError;
    if (inner instanceof Promise) inner.catch(() => undefined);
    return err;
  }

  /**
   * lmdb-js begins each event turn's batch of writes with an instruction of its own whose promise
   * (a second "Commit failed" rejection when the commit fails) it keeps to itself, as the current
   * commit promise, until the next write. `beforecommit` runs in that task just before the
   * instruction is issued; the microtask queued there runs right after the task, before any
   * continuation that could write again, and handles that promise (`committed` is the current
   * one). The writes' own rejections still reach `track`. One microtask per committed batch.
   */
  private static handleBatchStarts(root: RootDatabase): void {
    const handle = (): void => void root.committed.then(undefined, (err: unknown) => Journal.handled(err));
    root.on("beforecommit", () => queueMicrotask(handle));
  }

  /** Marks the journal failed for good (first cause wins) and tells the listener. O(1). */
  fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = new KeyPoolError(
      "unavailable",
      `the data dir ${this.dir} failed (${reasonOf(cause)}) and keypool stopped serving to keep it the source of truth; ` +
        "fix the disk and restart keypool",
      { cause },
    );
    this.failListener?.(this.failure);
  }

  private number(name: string): number {
    const value = this.meta.get(name);
    return typeof value === "number" && Number.isFinite(value) ? value : 0;
  }

  private async checkFormat(state: DirState): Promise<void> {
    const format = this.meta.get("format");
    if (format === FORMAT) return;
    if (format !== undefined) {
      throw new DataDirError(this.dir, `holds format ${String(format)}`, `this keypool reads format ${FORMAT}`);
    }
    if (state.marker === "ready" || this.keys.getCount() > 0) {
      throw damaged(this.dir, "it holds no keypool format record although the dir was set up");
    }
    this.track(this.meta.put("format", FORMAT));
    await this.barrier();
  }
}

/** One line of what went wrong, short enough for a status message. */
function reasonOf(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return (text.split("\n")[0] ?? "").slice(0, 160);
}

/**
 * Refuses a data file that would crash the engine: the header is read here, then the whole file
 * is read (and written once) in a child process, whose crash becomes a one-line refusal.
 */
async function checkDataFile(dir: string): Promise<void> {
  const header = await readLmdbHeader(join(dir, DATA_FILE)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "EACCES" || err.code === "EPERM") throw ioError(dir, err);
    throw damaged(dir, `it cannot be read (${err.code ?? err.message})`, err);
  });
  if (header.damage) throw damaged(dir, header.damage);
  const damage = await probeReadable(dir);
  if (damage) throw damaged(dir, header.shortTail ? `it is shorter than its pages need and ${damage}` : damage);
}
