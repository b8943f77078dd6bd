import { KeyPoolError, messages } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";
import type { Random } from "../../random.js";
import type { RedisStore } from "../redis-store.js";
import type { ScriptReply } from "./commands.js";
import { toAddedKeys } from "./replies.js";
import { shardOf } from "./shard-keys.js";

/**
 * The keys-adding calls of a pool split over shards (GenerateKeys, ImportKeys), and the split of
 * a batch call by shard. `--max-keys` bounds the whole pool: every shard's live count is read
 * first (O(shards) scripts, in parallel, as GetPoolStats) and the adding script admits the keys
 * only if the pool stays within it. Two servers adding to different shards at the same instant
 * can each pass the check (the limit guards Redis memory; no lease rule depends on it).
 */

/** Every shard's live keys, in parallel. */
async function liveCounts(shards: readonly RedisStore[]): Promise<number[]> {
  return (await Promise.all(shards.map((s) => s.stats()))).map((s) => s.total);
}

/** GenerateKeys: all `count` keys into ONE shard, the one with the fewest live keys (ties drawn). */
export async function generateSharded(shards: readonly RedisStore[], count: number, random: Random): Promise<KeyInfo[]> {
  if (shards.length === 1) return shards[0]!.generate(count);
  const live = await liveCounts(shards);
  const least = Math.min(...live);
  const candidates = live.flatMap((n, i) => (n === least ? [i] : []));
  const target = candidates[random.int(candidates.length)]!;
  const elsewhere = live.reduce((sum, n, i) => (i === target ? sum : sum + n), 0);
  return shards[target]!.generate(count, elsewhere);
}

/** Runs `run` once per shard named by `items` (in parallel) and puts the results back in order. O(k). */
export async function perShard<I, R>(
  shards: readonly RedisStore[],
  items: readonly I[],
  keyOf: (item: I) => string,
  run: (shard: RedisStore, part: I[]) => Promise<R[]>,
): Promise<R[]> {
  const byShard = shards.map(() => [] as number[]);
  items.forEach((item, i) => byShard[shardOf(keyOf(item), shards.length)]!.push(i));
  const out: R[] = new Array(items.length);
  await Promise.all(
    byShard.map(async (at, s) => {
      if (at.length === 0) return;
      const results = await run(shards[s]!, at.map((i) => items[i]!));
      results.forEach((r, j) => (out[at[j]!] = r));
    }),
  );
  return out;
}

/** The keys of one shard within an import, with their indexes in the request. */
interface Part {
  readonly shard: number;
  readonly keys: string[];
  readonly indexes: number[];
}

/**
 * Imports validated keys into a pool split over `shards`, each key into the shard its hash names
 * (`shardOf`, as every per-key call finds it). One shard: one script, all or none. Several: the
 * live counts first (for --max-keys over the whole pool), then every shard named checks its part
 * (a key already held: ALREADY_EXISTS naming the lowest such index, before any capacity refusal,
 * as one shard says it; a full pool), and only then do they add,
 * in parallel. A shard that fails to add after the checks passed (Redis failing, or a key
 * imported by another server between the check and the add) fails the call, and the keys the
 * other shards added are deleted again: all or none, except for a key another caller acquired in
 * that instant, which is deleted under its holder (the holder's next call says NOT_FOUND; no key
 * is ever held twice). O(k log n), 3 scripts per shard named.
 */
export async function importSharded(shards: readonly RedisStore[], keys: readonly string[]): Promise<KeyInfo[]> {
  if (shards.length === 1) return shards[0]!.importChecked(keys, keys.map((_, i) => i), 0);
  const parts = new Map<number, Part>();
  keys.forEach((key, i) => {
    const shard = shardOf(key, shards.length);
    const part = parts.get(shard) ?? { shard, keys: [], indexes: [] };
    part.keys.push(key);
    part.indexes.push(i);
    parts.set(shard, part);
  });
  const named = [...parts.values()].sort((a, b) => a.shard - b.shard);
  const live = await liveCounts(shards);
  const total = live.reduce((sum, n) => sum + n, 0);
  // Live keys outside the shard plus the keys the other shards will add.
  const elsewhere = (p: Part): number => total - live[p.shard]! + keys.length - p.keys.length;
  refuse(named, await Promise.all(named.map((p) => shards[p.shard]!.importScript(p.keys, elsewhere(p), "check"))), elsewhere);
  const added = await Promise.allSettled(named.map((p) => shards[p.shard]!.importChecked(p.keys, p.indexes, elsewhere(p))));
  if (added.some((r) => r.status === "rejected")) {
    await Promise.allSettled(named.flatMap((p, i) => (added[i]!.status === "fulfilled" ? p.keys.map((k) => shards[p.shard]!.delete(k)) : [])));
    firstFailure(added);
  }
  const out: KeyInfo[] = new Array(keys.length);
  named.forEach((p, i) => (added[i] as PromiseFulfilledResult<KeyInfo[]>).value.forEach((info, j) => (out[p.indexes[j]!] = info)));
  return out;
}

/**
 * Throws what the shards' checks found, as one shard would say it: a held key first
 * (ALREADY_EXISTS naming the lowest index of the request), then the capacity. O(shards).
 */
function refuse(parts: readonly Part[], replies: readonly ScriptReply[], elsewhere: (p: Part) => number): void {
  const held = replies.flatMap((r, i) => (r[0] === "already-exists" ? [parts[i]!.indexes[Number(r[1])]!] : []));
  if (held.length > 0) throw new KeyPoolError("already-exists", messages.keyExists(`keys[${Math.min(...held)}]`));
  replies.forEach((r, i) => toAddedKeys(parts[i]!.keys, r, elsewhere(parts[i]!)));
}

/** Throws the first rejection, in shard order (so the error a caller sees does not depend on timing). */
function firstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason instanceof Error ? failed.reason : new KeyPoolError("unavailable", String(failed.reason));
}
