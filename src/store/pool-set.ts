import { DEFAULT_POOL, KeyPoolError, isPoolName, messages } from "../pool/index.js";
import { emptyPoolView } from "./empty-pool.js";
import type { KeyStore, StoreDescription } from "./key-store.js";

export { DEFAULT_POOL };

/**
 * The named pools a server serves (see /work/POOLS.md, decision 1): a `KeyStore` per pool, made
 * on demand. The server holds one PoolSet and routes every RPC by its `pool` field. Every member
 * is O(1) unless it says otherwise.
 */
export interface PoolSet {
  /** The default pool's name ("" in a request means it): `--pool`, default "default". */
  readonly defaultPool: string;
  /**
   * The store of pool `name` ("" = the default pool), O(1). `create: true` (GenerateKeys,
   * ImportKeys) makes the pool if it does not exist: RESOURCE_EXHAUSTED past `--max-pools`.
   * Without create an unknown pool answers as an empty pool would (NOT_FOUND for keys and for
   * acquire, zero stats, an empty listing): implementations may return a shared empty view
   * (`emptyPoolView`). INVALID_ARGUMENT for a malformed name (rules.ts: POOL_NAME).
   */
  pool(name: string, create: boolean): KeyStore;
  /** Names of the pools this process knows (bounded by --max-pools), for metrics. */
  poolNames(): readonly string[];
  /** Calls listener(pool) when keys of `pool` may have become free. Returns the unsubscribe function. */
  onKeysFreed(listener: (pool: string) => void): () => void;
  /** Whether the pools can serve now (false while their backend is unreachable or failed). */
  isServing(): boolean;
  /** Calls `listener` whenever `isServing()` changes; returns the unsubscribe function. */
  onServingChange(listener: (serving: boolean) => void): () => void;
  /** What the start-up log says about the pools' store. O(1), no I/O. */
  describe(): StoreDescription;
  /** Closes every pool's store and the shared backend. Idempotent. */
  close(): Promise<void>;
}

/**
 * Throws INVALID_ARGUMENT unless `name` is "" (the default pool) or a valid pool name; returns
 * the full name. O(1).
 */
export function resolvePoolName(name: string, defaultPool: string): string {
  if (name === "") return defaultPool;
  if (!isPoolName(name)) throw new KeyPoolError("invalid-argument", messages.invalidPoolName(name));
  return name;
}

/**
 * A PoolSet of exactly one pool, `defaultPool`, served by `store`: any other pool exists never
 * (an empty view without `create`, RESOURCE_EXHAUSTED with it, as if `--max-pools` were 1).
 * For stores that hold one pool; closing the set closes `store`.
 */
export function singlePoolSet(store: KeyStore, defaultPool: string = DEFAULT_POOL): PoolSet {
  const empty = emptyPoolView(store.settings, store);
  return {
    defaultPool,
    pool: (name, create) => {
      const full = resolvePoolName(name, defaultPool);
      if (full === defaultPool) return store;
      if (create) {
        throw new KeyPoolError("resource-exhausted", `pool "${full}" cannot be created: this server serves one pool ("${defaultPool}")`);
      }
      return empty;
    },
    poolNames: () => [defaultPool],
    onKeysFreed: (listener) => store.onKeysFreed(() => listener(defaultPool)),
    isServing: () => store.isServing(),
    onServingChange: (listener) => store.onServingChange(listener),
    describe: () => store.describe(),
    close: () => store.close(),
  };
}
