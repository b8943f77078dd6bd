/**
 * A tiny typed event: subscribers added and removed in O(1), `emit` calls each once. Used for
 * "keys may be free" and "serving changed" notices from stores.
 */
export class Signal<T extends unknown[] = []> {
  private readonly listeners = new Set<(...args: T) => void>();

  /** Subscribes `listener`; returns the unsubscribe function. */
  subscribe(listener: (...args: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls every listener. O(listeners). */
  emit(...args: T): void {
    for (const listener of this.listeners) listener(...args);
  }
}
