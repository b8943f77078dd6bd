import type { KeyInfo, ListPage, ListQuery } from "../../pool/index.js";
import { LIST_SCAN_FACTOR } from "../../pool/rules.js";
import type { RedisStore } from "../redis-store.js";
import { decodeListToken, encodeListToken } from "./list-token.js";
import type { ListCursor } from "./list-token.js";

/**
 * One page of a pool split over `shards`: shard by shard, each in creation order, a page going
 * on into the next shard while it has room and the call has examined fewer than
 * LIST_SCAN_FACTOR · pageSize entries; the token carries the shard and the cursor in it (see
 * list-token.ts). One script per shard it reaches. O(pageSize · log n + shards).
 */
export async function listSharded(shards: readonly RedisStore[], pool: string, query: ListQuery): Promise<ListPage> {
  const count = shards.length;
  let { shard, after } = decodeListToken(query.pageToken, pool, count, query.state);
  const keys: KeyInfo[] = [];
  let budget = LIST_SCAN_FACTOR * query.pageSize;
  const page = (next: ListCursor | undefined): ListPage => ({ keys, nextPageToken: next ? encodeListToken(pool, count, next, query.state) : "" });
  for (;;) {
    const part = await shards[shard]!.listShard(query.state, query.pageSize - keys.length, after, budget);
    keys.push(...part.keys);
    budget -= part.examined;
    if (part.more) return page({ shard, after: part.after });
    if (shard + 1 === count) return page(undefined);
    shard++;
    after = 0;
    if (keys.length === query.pageSize || budget <= 0) return page({ shard, after });
  }
}
