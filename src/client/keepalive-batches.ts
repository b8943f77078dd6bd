import { MAX_GENERATE } from "../pool/rules.js";

/** Most keys plus leases in one KeepAliveRequest (the server's limit). */
export const KEYS_PER_KEEPALIVE = MAX_GENERATE;

/** The name of a held key on the client: (pool, key), since one key string may live in two pools. O(1). */
export function holdId(pool: string, key: string): string {
  // Neither a pool name nor a key (printable ASCII) holds a NUL.
  return `${pool}\0${key}`;
}

/** One key to keep alive, or one lease to renew (with `leaseId`), in its pool. */
export interface KeepAliveEntry {
  readonly pool: string;
  readonly key: string;
  readonly leaseId?: string | undefined;
}

/** One KeepAliveRequest: one pool for all its keys and leases, at most KEYS_PER_KEEPALIVE of them. */
export interface KeepAliveBatch {
  readonly pool: string;
  readonly keys: string[];
  readonly leases: { key: string; leaseId: string }[];
}

/**
 * Groups entries per pool (pools in the order first seen, entries in theirs) into requests of at
 * most `perRequest` (default KEYS_PER_KEEPALIVE) entries, as the KeepAlive stream wants them.
 * O(k) for k entries.
 */
export function keepAliveBatches(entries: Iterable<KeepAliveEntry>, perRequest = KEYS_PER_KEEPALIVE): KeepAliveBatch[] {
  const byPool = new Map<string, KeepAliveEntry[]>();
  for (const entry of entries) {
    const group = byPool.get(entry.pool);
    if (group) group.push(entry);
    else byPool.set(entry.pool, [entry]);
  }
  const batches: KeepAliveBatch[] = [];
  for (const [pool, group] of byPool) {
    for (let i = 0; i < group.length; i += perRequest) {
      const part = group.slice(i, i + perRequest);
      batches.push({
        pool,
        keys: part.flatMap((e) => (e.leaseId === undefined ? [e.key] : [])),
        leases: part.flatMap((e) => (e.leaseId === undefined ? [] : [{ key: e.key, leaseId: e.leaseId }])),
      });
    }
  }
  return batches;
}

/** The holds `batch` names, by hold id, each lease with its id (keys: undefined). O(k). */
export function* batchEntries(batch: KeepAliveBatch): Generator<{ id: string; leaseId: string | undefined }> {
  for (const key of batch.keys) yield { id: holdId(batch.pool, key), leaseId: undefined };
  for (const { key, leaseId } of batch.leases) yield { id: holdId(batch.pool, key), leaseId };
}
