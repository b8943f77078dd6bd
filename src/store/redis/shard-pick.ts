import { KeyPoolError } from "../../pool/index.js";
import type { KeyInfo } from "../../pool/index.js";
import type { Random } from "../../random.js";
import type { RedisStore } from "../redis-store.js";

/**
 * AcquireKey on a pool split over `shards`: asks the shard `pickShard` draws by free counts and,
 * on NOT_FOUND, the others in proportion: at most one script per shard. NOT_FOUND once every
 * shard said so. O(shards).
 */
export async function acquireSharded(shards: readonly RedisStore[], random: Random): Promise<KeyInfo> {
  // One shard says why in the pool's own words (how many keys are blocked or cooling).
  if (shards.length === 1) return shards[0]!.acquire();
  const tried = new Set<number>();
  while (tried.size < shards.length) {
    const i = pickShard(shards.map((s) => s.freeCount()), tried, random);
    tried.add(i);
    try {
      return await shards[i]!.acquire();
    } catch (err) {
      if (!(err instanceof KeyPoolError && err.code === "not-found")) throw err;
    }
  }
  throw new KeyPoolError(
    "not-found",
    `no free key in any of the pool's ${shards.length} shards: all keys are blocked or cooling, or the pool is empty; ` +
      "release keys, wait for a cooldown to end, or add more",
  );
}

/**
 * Picks the shard an AcquireKey asks first, and the next after a NOT_FOUND: shard i with
 * probability free[i] / sum(free) over the shards not tried yet. With every shard's free count
 * exact, a key is then drawn with probability (free_s / F) * (1 / free_s) = 1 / F: uniform over
 * the whole pool, as on one node. Counts are each shard's as of its latest reply (every script
 * reply carries it, and so does each background sweep: at the shard's deadlines, and at least
 * once per idle period otherwise; see RedisSweeper), so under
 * concurrent load the pick is uniform up to that staleness. A shard whose count is unknown
 * weighs 1; when every untried shard reports 0 (counts can lag a GenerateKeys through another
 * server) the pick is uniform among them, so a miss still tries every shard once.
 * O(shards).
 */
export function pickShard(free: readonly (number | undefined)[], tried: ReadonlySet<number>, random: Random): number {
  let total = 0;
  for (let i = 0; i < free.length; i++) if (!tried.has(i)) total += weight(free[i]);
  const untried = free.length - tried.size;
  if (untried <= 0) throw new RangeError("every shard was tried");
  if (total === 0) {
    let skip = random.int(untried);
    for (let i = 0; i < free.length; i++) if (!tried.has(i) && skip-- === 0) return i;
  }
  let draw = random.int(total);
  for (let i = 0; i < free.length; i++) {
    if (tried.has(i)) continue;
    draw -= weight(free[i]);
    if (draw < 0) return i;
  }
  throw new Error("unreachable: the draw is below the total");
}

function weight(count: number | undefined): number {
  return count === undefined ? 1 : Math.max(0, count);
}
