import { redactKey } from "../../pool/key-format.js";
import { KEY_JSON_SHAPE, UsageError, statsJson, statsTable, writeJson, writeKey } from "../output.js";
import { durationArg, keyArg, leaseArg } from "./args.js";
import type { Command } from "./command.js";

/** `keypool release KEY [--lease ID] [--cooldown DURATION]`. */
export const release: Command = {
  name: "release",
  synopsis: "KEY [--lease ID] [--cooldown DURATION]",
  summary: "Unblock a key so it can be acquired again, now or after a cooldown.",
  description: [
    "With --lease, the key is released only if that is still its lease: when the lease ran out and someone " +
      "acquired the key again, nothing changes and the exit code is 4. Always pass the lease id you got from " +
      '"keypool acquire". Releasing a free key succeeds and changes nothing; an unknown or dead key exits 3. ' +
      "Retried on UNAVAILABLE only with --lease (a blind retry could free someone else's lease).",
    "With --cooldown (e.g. the Retry-After of an HTTP 429 the key got), the key turns cooling instead of free: " +
      "nobody acquires it until COOLDOWN UNTIL, when it is free again by itself. At most the server's " +
      "--max-cooldown (default 1h). The key's life is unchanged: keep it alive as usual.",
  ],
  flags: {
    lease: { type: "string", value: "ID", help: "the lease id from acquire; release only under this lease" },
    cooldown: { type: "string", value: "DURATION", help: "park the key cooling this long (e.g. 30s) instead of freeing it" },
  },
  positionals: { min: 1, max: 1 },
  jsonShape: KEY_JSON_SHAPE,
  run: async ({ values, positionals, client, json, io, pool }) => {
    const lease = values.lease === undefined ? undefined : leaseArg(String(values.lease));
    const cooldownMs = values.cooldown === undefined ? 0 : durationArg("--cooldown", String(values.cooldown));
    const name = keyArg(positionals[0]!);
    const options = { pool, cooldownMs, signal: io.signal };
    // Without --lease the command says so in its help: the CLI's spelling of an unfenced release.
    const key = lease === undefined
      ? await client.releaseKey(name, { ...options, unfenced: true })
      : await client.releaseKey(name, lease, options);
    writeKey(io.stdout, json, key);
    return 0;
  },
};

/** `keypool renew KEY --lease ID`. */
export const renew: Command = {
  name: "renew",
  synopsis: "KEY --lease ID",
  summary: "Renew a lease once: block and life from now, same lease id and fencing token.",
  description: [
    "Extends the key's current lease: it stays blocked for another block TTL and alive for another keepalive " +
      "TTL from now. When the lease is not the key's current one (it was released or ran out, also at exactly " +
      "BLOCKED UNTIL, or someone else acquired the key), or the renewal would pass the server's --max-lease, " +
      'nothing changes and the exit code is 4; an unknown or dead key exits 3. To keep renewing, use "keypool ' +
      'acquire --hold". Retried on UNAVAILABLE (a repeat only renews again).',
  ],
  flags: { lease: { type: "string", value: "ID", help: "the lease id from acquire (required)" } },
  positionals: { min: 1, max: 1 },
  jsonShape: KEY_JSON_SHAPE,
  run: async ({ values, positionals, client, json, io, pool }) => {
    if (values.lease === undefined) throw new UsageError("renew needs --lease ID: the lease id acquire printed");
    const key = await client.renewLease(keyArg(positionals[0]!), leaseArg(String(values.lease)), { pool, signal: io.signal });
    writeKey(io.stdout, json, key);
    return 0;
  },
};

/** `keypool delete KEY`. */
export const remove: Command = {
  name: "delete",
  synopsis: "KEY",
  summary: "Purge a key from the pool, free, blocked or cooling.",
  description: [
    "Deletion is final. An unknown or dead key exits 3. Retried on UNAVAILABLE; when a retry finds the key gone, " +
      "an earlier attempt deleted it, so that counts as success.",
  ],
  flags: {},
  positionals: { min: 1, max: 1 },
  jsonShape: '{"key", "deleted": true}',
  run: async ({ positionals, client, json, io, pool }) => {
    const key = keyArg(positionals[0]!);
    await client.deleteKey(key, { pool, signal: io.signal });
    if (json) writeJson(io.stdout, { key, deleted: true });
    else io.stdout.write(`deleted ${redactKey(key)}\n`);
    return 0;
  },
};

/** `keypool get KEY`. */
export const get: Command = {
  name: "get",
  synopsis: "KEY",
  summary: "Describe a key without changing it.",
  description: ["Prints the key's state, lease, block end, cooldown end and life end. An unknown or dead key exits 3."],
  flags: {},
  positionals: { min: 1, max: 1 },
  jsonShape: KEY_JSON_SHAPE,
  run: async ({ positionals, client, json, io, pool }) => {
    const key = await client.getKey(keyArg(positionals[0]!), { pool, signal: io.signal });
    writeKey(io.stdout, json, key);
    return 0;
  },
};

/** `keypool stats`. */
export const stats: Command = {
  name: "stats",
  synopsis: "",
  summary: "Count the pool's keys and show its TTLs and capacity.",
  description: [
    "Counts are live keys (dead keys are not counted): free + blocked + cooling = total. A pool that does not " +
      "exist counts zero. Needs a token whose role may call GetPoolStats.",
  ],
  flags: {},
  positionals: { min: 0, max: 0 },
  jsonShape:
    '{"total", "free", "blocked", "cooling", "maxKeys", "blockTtlMs", "keepaliveTtlMs", "maxCooldownMs"} ' +
    "(numbers; durations in milliseconds)",
  run: async ({ client, json, io, pool }) => {
    const s = await client.getPoolStats({ pool, signal: io.signal });
    if (json) writeJson(io.stdout, statsJson(s));
    else io.stdout.write(statsTable(s));
    return 0;
  },
};
