import { KEY_JSON_SHAPE, writeKey } from "../output.js";
import { holdLease } from "./acquire-hold.js";
import { durationArg } from "./args.js";
import type { Command } from "./command.js";

/** `keypool acquire [--wait 10s]`. */
export const acquire: Command = {
  name: "acquire",
  synopsis: "[--wait DURATION] [--hold]",
  summary: "Lease a random free key of the pool and print it with its lease id.",
  description: [
    "The key stays blocked until BLOCKED UNTIL (one block TTL) unless released first: release it with " +
      '"keypool release KEY --lease LEASE_ID". Keepalives never extend the block.',
    "The key comes from --pool (cooling keys are never handed out). With --wait and no key free, the server " +
      "waits up to that long (at most 5m) for one of that pool; waiters are served first come, first served. Without --wait, or when the wait ends, no free key exits 3. Never retried: a retry after " +
      "a lost answer would block a second key.",
    "With --hold, the command keeps the key: it renews the lease (block and life) every third of the block TTL " +
      "until Ctrl-C or SIGTERM, then releases it under its lease and exits 0. It gives the lease up before the " +
      "server could end it when renewals stop being confirmed, and at once when one is refused; it then says why " +
      "on stderr and exits 3 (the key is gone), 4 (the lease ended, or --max-lease was reached) or 5 (no renewal " +
      'confirmed in time). With --json it prints one JSON line per event: "acquired", each "renewed", then ' +
      '"released" or "lost".',
  ],
  flags: {
    wait: { type: "string", value: "DURATION", help: "wait this long for a free key, e.g. 10s (at most 5m)" },
    hold: { type: "boolean", help: "keep the lease, renewing it, until Ctrl-C or SIGTERM; then release it" },
  },
  positionals: { min: 0, max: 0 },
  jsonShape: `${KEY_JSON_SHAPE}; with --hold, one such line per event, with "event"`,
  run: async ({ values, client, json, io, pool }) => {
    const waitMs = values.wait === undefined ? 0 : durationArg("--wait", String(values.wait));
    const key = await client.acquireKey({ pool, waitMs, signal: io.signal });
    if (values.hold === true) return holdLease(client, key, io, json);
    writeKey(io.stdout, json, key);
    return 0;
  },
};
