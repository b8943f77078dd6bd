import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import type { CallContext, ServiceImpl } from "../grpc/typed-server.js";
import { KeyPoolError, messages } from "../pool/index.js";
import { checkImport } from "../pool/key-import.js";
import type { KeyInfo } from "../pool/index.js";
import type { PoolWaiters } from "../store/pool-waiters.js";
import { resolvePoolName } from "../store/pool-set.js";
import type { PoolSet } from "../store/pool-set.js";
import { ROLE_METADATA, poolRefusal } from "./access.js";
import { keyInfoMessage, statsMessage } from "./convert.js";
import { keepAliveStream } from "./keepalive-stream.js";
import type { KeepAliveDeps } from "./keepalive-stream.js";
import type { ServerLimits } from "./limits.js";
import type { Metrics } from "./metrics.js";
import { cooldownArgMs, durationArgMs, listQueryOf } from "./request-args.js";
import type { StreamRegistry } from "./stream-registry.js";

/** What the handlers work with. */
export interface KeyServiceDeps {
  readonly pools: PoolSet;
  readonly waiters: PoolWaiters;
  readonly streams: StreamRegistry;
  readonly limits: ServerLimits;
  readonly metrics: Metrics;
  /** Asks the access policy again about an open stream (after an auth reload). */
  readonly recheck: KeepAliveDeps["recheck"];
}

// Only admins see other holders' lease ids: a reader or a worker who learnt one could release
// a key it does not hold (the holder has its lease id from AcquireKey).
const seesLeaseIds = (context: CallContext): boolean => context.metadata.get(ROLE_METADATA)[0] === "admin";
/** `info` as the caller may see it: without its lease id unless the caller is an admin. O(1). */
const visibleTo = (context: CallContext, info: KeyInfo): KeyInfo => (seesLeaseIds(context) ? info : { ...info, leaseId: undefined });

/**
 * How long before its call's deadline a waiting AcquireKey stops waiting: a key handed over
 * later could reach a client that already gave up (covers a round trip of up to this long).
 */
export const ANSWER_MARGIN_MS = 100;

/** The wait to serve: the one asked for, ended ANSWER_MARGIN_MS before the call's deadline. */
function waitWithin(requestedMs: number, timeLeftMs: number): number {
  if (!(requestedMs > 0) || !Number.isFinite(timeLeftMs)) return requestedMs; // invalid waits fail in the queue
  return Math.min(requestedMs, Math.max(0, Math.floor(timeLeftMs - ANSWER_MARGIN_MS)));
}

/**
 * The KeyService handlers: short shims from wire messages to the store and back. Validation and
 * semantics live in the store; errors are mapped to statuses by the adapter.
 */
export function keyServiceImpl(deps: KeyServiceDeps): ServiceImpl<typeof KeyService> {
  const { pools, waiters, streams, limits, metrics, recheck } = deps;
  /**
   * The full name of a request's pool and its store (made when `create`): INVALID_ARGUMENT for a
   * malformed name, then PERMISSION_DENIED for a pool the caller's token may not use. O(1).
   */
  const route = (pool: string, context: CallContext, create = false) => {
    const name = resolvePoolName(pool, pools.defaultPool);
    const refused = poolRefusal(context.metadata, name);
    if (refused) throw refused;
    return { name, store: pools.pool(name, create) };
  };
  return {
    generateKeys: async ({ count, pool }, context) => {
      if (count > limits.maxGenerate) {
        throw new KeyPoolError("invalid-argument", messages.countOverLimit(count, limits.maxGenerate));
      }
      const { name, store } = route(pool, context, true);
      const keys = await store.generate(count);
      metrics.count("generated", name, keys.length);
      return { keys: keys.map((k) => keyInfoMessage(k, name)) };
    },
    importKeys: async ({ keys, pool }, context) => {
      // The pool's name and the token's pools first; then the batch by itself, BEFORE the pool is
      // made: a refused import must not leave an empty pool holding one of --max-pools for good.
      route(pool, context);
      checkImport(keys, () => false);
      const { name, store } = route(pool, context, true);
      const imported = await store.import(keys);
      metrics.count("imported", name, imported.length);
      return { keys: imported.map((k) => keyInfoMessage(k, name)) };
    },
    listKeys: async (request, context) => {
      const { name, store } = route(request.pool, context);
      const page = await store.list(listQueryOf(request));
      return { keys: page.keys.map((k) => keyInfoMessage(k, name)), nextPageToken: page.nextPageToken };
    },
    acquireKey: async ({ wait, pool }, context) => {
      const { name } = route(pool, context);
      try {
        const key = await waiters.acquire(name, waitWithin(wait ? durationArgMs("wait", wait) : 0, context.timeLeftMs()), context.signal);
        if (context.signal.aborted) {
          // Nobody will receive this answer: the key goes back under its own lease (or its block
          // ends). The pool is looked up again: it may have been made while the call waited.
          await pools.pool(name, false).release(key.key, key.leaseId).catch(() => {});
          throw new KeyPoolError("cancelled", "the call ended before its key could be sent; the key was released");
        }
        metrics.count("acquired", name);
        return { key: keyInfoMessage(key, name) };
      } catch (err) {
        if (err instanceof KeyPoolError && err.code === "not-found") metrics.count("acquire_misses", name);
        throw err;
      }
    },
    releaseKey: async ({ key, leaseId, pool, cooldown }, context) => {
      const { name, store } = route(pool, context);
      const info = await store.release(key, leaseId || undefined, cooldownArgMs(cooldown, store.settings));
      metrics.count("released", name);
      return { key: keyInfoMessage(info, name) };
    },
    deleteKey: async ({ key, pool }, context) => {
      const { name, store } = route(pool, context);
      await store.delete(key);
      metrics.count("deleted", name);
      return {};
    },
    renewLease: async ({ key, leaseId, pool }, context) => {
      const { name, store } = route(pool, context);
      return { key: keyInfoMessage(await store.renew(key, leaseId), name) };
    },
    keepAliveKey: async ({ key, pool }, context) => {
      const { name, store } = route(pool, context);
      const info = await store.keepAlive(key);
      return { key: keyInfoMessage(visibleTo(context, info), name), keepaliveTtl: durationFromMs(store.settings.keepaliveTtlMs) };
    },
    keepAlive: (call, context) => keepAliveStream({ storeOf: (pool) => route(pool, context).store, streams, limits, recheck }, call, context),
    getKey: async ({ key, pool }, context) => {
      const { name, store } = route(pool, context);
      const info = await store.get(key);
      return { key: keyInfoMessage(visibleTo(context, info), name) };
    },
    getPoolStats: async ({ pool }, context) => statsMessage(await route(pool, context).store.stats()),
  };
}

export { KeyService };
