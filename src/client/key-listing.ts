import type { ListKeysResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { poolKey } from "./convert.js";
import { KeyPoolClientError } from "./errors.js";
import type { PoolKey } from "./types.js";

/** Fetches the page that starts at `pageToken` ("" = the first). */
export type PageFetcher = (pageToken: string) => Promise<ListKeysResponse>;

/**
 * Pages through a listing: asks for the first page, then follows `next_page_token` until it is
 * empty, yielding the keys of each page that holds any. A page may hold fewer keys than asked,
 * even none, and still have a next page (a state filter skips keys of other states), so an empty
 * page never ends the listing; only an empty token does. One call per page, made only when the
 * caller asks for the next page, so breaking out of the loop stops the listing. O(page) per page.
 */
export async function* listPages(fetchPage: PageFetcher): AsyncGenerator<PoolKey[], void, undefined> {
  let token = "";
  do {
    const page = await fetchPage(token);
    if (page.keys.length > 0) yield page.keys.map((info) => poolKey(info, "ListKeys"));
    // A cursor that does not move would page forever.
    if (page.nextPageToken !== "" && page.nextPageToken === token) {
      throw new KeyPoolClientError("INTERNAL", "ListKeys", "the server handed out the same page token twice");
    }
    token = page.nextPageToken;
  } while (token !== "");
}
