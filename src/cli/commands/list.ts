import type { KeyPoolClient } from "../../client/key-pool-client.js";
import type { KeyState, ListOptions, PoolKey } from "../../client/types.js";
import { MAX_PAGE_SIZE } from "../../pool/rules.js";
import { KEY_JSON_SHAPE, keyJsonStream, keyTable } from "../output.js";
import type { Sink } from "../output.js";
import { integerArg } from "./args.js";
import type { Command } from "./command.js";

/** The states `--state` takes. */
const STATES: readonly KeyState[] = ["free", "blocked", "cooling"];

/** Prints every page of the listing as one JSON document, page by page; rethrows a failure after closing it. */
async function listJson(client: KeyPoolClient, options: ListOptions, out: Sink): Promise<void> {
  const printer = keyJsonStream(out);
  try {
    for await (const page of client.listKeys(options)) printer.batch(page);
  } finally {
    printer.end();
  }
}

/** Prints the listing as one table (columns fit the widest key), after the last page. */
async function listTable(client: KeyPoolClient, options: ListOptions, out: Sink): Promise<void> {
  const keys: PoolKey[] = [];
  for await (const page of client.listKeys(options)) keys.push(...page);
  out.write(keyTable(keys));
}

/** `keypool list [--state S] [--page-size N]`. */
export const list: Command = {
  name: "list",
  synopsis: "[--state free|blocked|cooling] [--page-size N]",
  summary: "List the pool's keys (all, or those in one state), with their leases and deadlines.",
  description: [
    "Pages through --pool with ListKeys, following its page tokens to the end: one call per page of at most " +
      "--page-size keys (the server's default, 100, when unset). A page may come back short, or empty, when " +
      "--state skips keys of other states; the listing goes on until the server says it is complete. Every key " +
      "that is in the pool for the whole listing is printed exactly once; keys added or removed meanwhile may or " +
      "may not be. A pool that does not exist lists nothing.",
    "This prints keys, which are secrets: it needs an admin token. With --json the keys are printed as each page " +
      "arrives, so a listing that fails part-way still prints a valid document of what it got, and the exit code " +
      "tells the failure. Each page is retried on UNAVAILABLE.",
  ],
  flags: {
    state: { type: "string", value: "STATE", choices: STATES, help: "only keys in this state" },
    "page-size": { type: "string", value: "N", help: `keys per call (1 to ${MAX_PAGE_SIZE})` },
  },
  positionals: { min: 0, max: 0 },
  jsonShape: `{"keys": [key, ...]}, each key ${KEY_JSON_SHAPE}`,
  run: async ({ values, client, json, io, pool }) => {
    const pageSize = values["page-size"] === undefined ? undefined : integerArg("--page-size", String(values["page-size"]), 1, MAX_PAGE_SIZE);
    const state = values.state as KeyState | undefined;
    const options: ListOptions = { pool, signal: io.signal, ...(state ? { state } : {}), ...(pageSize ? { pageSize } : {}) };
    await (json ? listJson : listTable)(client, options, io.stdout);
    return 0;
  },
};
