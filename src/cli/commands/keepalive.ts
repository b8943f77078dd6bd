import { EXIT, outcomeJson, outcomeTable, writeJson } from "../output.js";
import { keyArg } from "./args.js";
import type { Command } from "./command.js";
import { holdKeys } from "./keepalive-hold.js";

/** `keypool keepalive KEY... [--hold]`. */
export const keepalive: Command = {
  name: "keepalive",
  synopsis: "KEY... [--hold]",
  summary: "Keep keys alive once, or with --hold until interrupted.",
  description: [
    "Without --hold: sets each key's life to now + keepalive TTL, over one short stream (any number of keys), " +
      "and prints one row per key. Keys the pool does not hold are reported, not fatal: the exit code is 3 " +
      "after every key is printed. Keepalives never extend a key's block.",
    "With --hold: keeps the keys alive over ONE stream until SIGINT (Ctrl-C) or SIGTERM, sending every third of " +
      "the keepalive TTL and reconnecting with backoff when the stream breaks. Progress goes to stderr, with keys " +
      "shortened. A key the server reports gone, or one whose keepalive could not be confirmed for a whole TTL, " +
      "is dropped; when every key is gone the command stops by itself. On exit it prints one row per key (held, " +
      "or lost and why) and exits 0 when none was lost, 3 when one was not found, 1 when the token may not use " +
      "the pool, 5 when one was lost because the stream stayed down.",
  ],
  flags: { hold: { type: "boolean", help: "keep the keys alive until interrupted" } },
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER },
  jsonShape:
    '{"results": [{"key", "found", "expiresAt"}, ...]}; with --hold {"keys": [{"key", "held", "lost"}, ...]} ' +
    '(lost: null, "not-found", "permission-denied" or "stream-down")',
  run: async ({ values, positionals, client, json, io, pool }) => {
    const keys = positionals.map((k, i) => keyArg(k, `KEY ${i + 1}`));
    if (values.hold) return holdKeys(client, pool, keys, io, json);
    const outcomes = await client.keepAliveKeys(keys, { pool, signal: io.signal });
    if (json) writeJson(io.stdout, { results: outcomes.map(outcomeJson) });
    else io.stdout.write(outcomeTable(outcomes));
    return outcomes.every((o) => o.found) ? EXIT.ok : EXIT.notFound;
  },
};
