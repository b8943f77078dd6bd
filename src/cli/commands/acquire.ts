import { keyJson, keyTable, writeJson } from "../output.js";
import { durationArg } from "./args.js";
import type { Command } from "./command.js";

/** `keypool acquire [--wait 10s]`. */
export const acquire: Command = {
  name: "acquire",
  synopsis: "[--wait DURATION]",
  summary: "Lease a random free key and print it with its lease id.",
  description: [
    "The key stays blocked until BLOCKED UNTIL (one block TTL) unless released first: release it with " +
      '"keypool release KEY --lease LEASE_ID". Keepalives never extend the block.',
    "With --wait and no key free, the server waits up to that long (at most 5m) for one; waiters are served first " +
      "come, first served. Without --wait, or when the wait ends, no free key exits 3. Never retried: a retry after " +
      "a lost answer would block a second key.",
  ],
  flags: { wait: { type: "string", value: "DURATION", help: "wait this long for a free key, e.g. 10s (at most 5m)" } },
  positionals: { min: 0, max: 0 },
  jsonShape: '{"key", "state", "leaseId", "blockedUntil", "expiresAt", "createdAt"} (timestamps in ISO 8601)',
  run: async ({ values, client, json, io }) => {
    const waitMs = values.wait === undefined ? 0 : durationArg("--wait", String(values.wait));
    const key = await client.acquireKey({ waitMs, signal: io.signal });
    if (json) writeJson(io.stdout, keyJson(key));
    else io.stdout.write(keyTable([key]));
    return 0;
  },
};
