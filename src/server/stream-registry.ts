/** One open stream as the registry sees it. */
export interface OpenStream {
  /** Aborted, with the error to end the stream with as its reason, when a recheck fails. */
  readonly revoked: AbortSignal;
  /** Counts the stream as closed (idempotent). */
  leave(): void;
}

interface Entry {
  readonly controller: AbortController;
  readonly recheck: () => Error | undefined;
}

/**
 * Tracks open streams so shutdown can end every one of them with a status, and so a change of
 * who may call what (an auth file reload) can end the streams it no longer allows. O(1) per
 * stream; a recheck is O(open streams).
 */
export class StreamRegistry {
  private readonly controller = new AbortController();
  private readonly open = new Set<Entry>();

  /** Aborted when the server starts shutting down: streams end with UNAVAILABLE. */
  get shutdown(): AbortSignal {
    return this.controller.signal;
  }

  /** Streams currently open. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Counts a stream as open until `leave()`. `recheck` answers whether it may still run: undefined
   * for yes, else the error to end it with (run by `recheck()`, never by `enter`).
   */
  enter(recheck: () => Error | undefined = () => undefined): OpenStream {
    const entry: Entry = { controller: new AbortController(), recheck };
    this.open.add(entry);
    return { revoked: entry.controller.signal, leave: () => this.open.delete(entry) };
  }

  /** Asks every open stream's `recheck` again and revokes those it refuses; returns how many. */
  recheck(): number {
    let revoked = 0;
    for (const entry of this.open) {
      const refusal = entry.recheck();
      if (refusal === undefined) continue;
      this.open.delete(entry);
      entry.controller.abort(refusal);
      revoked++;
    }
    return revoked;
  }

  /** Tells every open stream to end. */
  close(): void {
    this.controller.abort();
  }
}
