/**
 * Tracks open streams so shutdown can end every one of them with a status. O(1) per stream.
 */
export class StreamRegistry {
  private readonly controller = new AbortController();
  private open = 0;

  /** Aborted when the server starts shutting down: streams end with UNAVAILABLE. */
  get shutdown(): AbortSignal {
    return this.controller.signal;
  }

  /** Streams currently open. */
  get size(): number {
    return this.open;
  }

  /** Counts a stream as open until the returned function is called (idempotent). */
  enter(): () => void {
    this.open++;
    let left = false;
    return () => {
      if (!left) this.open--;
      left = true;
    };
  }

  /** Tells every open stream to end. */
  close(): void {
    this.controller.abort();
  }
}
