import { KeyPoolError, assertCooldown, assertKey, assertLeaseId, messages } from "../pool/index.js";
import type { KeepAliveResult, LeaseRef, LeaseResult, PoolCounters, PoolSettings, PoolStats } from "../pool/index.js";
import type { KeyStore, StoreDescription } from "./key-store.js";

const ZERO_COUNTERS: PoolCounters = Object.freeze({
  generated: 0, acquired: 0, released: 0, autoReleased: 0, expired: 0, deleted: 0, acquireMisses: 0,
});

const unknownKey = (): KeyPoolError => new KeyPoolError("not-found", messages.unknownKey());

/**
 * A read-only view of a pool that does not exist, for a `PoolSet` asked about an unknown pool
 * without `create`: it answers exactly as an empty pool with `settings` would (malformed input
 * INVALID_ARGUMENT first, then NOT_FOUND for any key and for an acquire, `found: false` /
 * `renewed: false` in batches, zero counts). Adding keys through it is a programming error
 * (the PoolSet creates the pool for that) and is refused. Serving and description follow
 * `backing`, the store the pools live in. Every method O(1) (O(k) for k keys named); no state.
 */
export function emptyPoolView(settings: PoolSettings, backing: Pick<KeyStore, "isServing" | "onServingChange" | "describe">): KeyStore {
  const noAdd = async (): Promise<never> => {
    throw new KeyPoolError("failed-precondition", "this pool does not exist; GenerateKeys or ImportKeys creates it");
  };
  const lookup = async (key: string): Promise<never> => {
    assertKey(key);
    throw unknownKey();
  };
  return {
    settings,
    generate: noAdd,
    import: noAdd,
    acquire: async () => {
      throw new KeyPoolError("not-found", messages.noFreeKey(0));
    },
    release: async (key, leaseId, cooldownMs) => {
      if (leaseId) assertLeaseId(leaseId);
      assertCooldown(cooldownMs ?? 0, settings.maxCooldownMs);
      return lookup(key);
    },
    delete: lookup,
    renew: async (key, leaseId) => {
      assertKey(key);
      assertLeaseId(leaseId);
      throw unknownKey();
    },
    renewMany: async (leases: readonly LeaseRef[]): Promise<LeaseResult[]> => {
      leases.forEach(({ key, leaseId }, i) => {
        assertKey(key, `leases[${i}].key`);
        assertLeaseId(leaseId, `leases[${i}].lease_id`);
      });
      return leases.map(({ key, leaseId }) => ({ key, leaseId, renewed: false, reason: "not-found" }));
    },
    keepAlive: lookup,
    keepAliveMany: async (keys: readonly string[]): Promise<KeepAliveResult[]> => {
      keys.forEach((key, i) => assertKey(key, `keys[${i}]`));
      return keys.map((key) => ({ key, found: false }));
    },
    get: lookup,
    list: async (query) => {
      // No listing of this pool ever handed out a token.
      if (query.pageToken !== "") throw new KeyPoolError("invalid-argument", messages.badPageToken("this pool holds no keys"));
      return { keys: [], nextPageToken: "" };
    },
    stats: async (): Promise<PoolStats> => ({ ...settings, total: 0, free: 0, blocked: 0, cooling: 0 }),
    counters: () => ZERO_COUNTERS,
    onKeysFreed: () => () => {},
    isServing: () => backing.isServing(),
    onServingChange: (listener) => backing.onServingChange(listener),
    describe: (): StoreDescription => backing.describe(),
    close: async () => {},
  };
}
