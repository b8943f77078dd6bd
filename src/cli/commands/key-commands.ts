import { redactKey } from "../../pool/key-format.js";
import { KEY_JSON_SHAPE, UsageError, statsJson, statsTable, writeJson, writeKey } from "../output.js";
import { keyArg, leaseArg } from "./args.js";
import type { Command } from "./command.js";

/** `keypool release KEY [--lease ID]`. */
export const release: Command = {
  name: "release",
  synopsis: "KEY [--lease ID]",
  summary: "Unblock a key so it can be acquired again.",
  description: [
    "With --lease, the key is released only if that is still its lease: when the lease ran out and someone " +
      "acquired the key again, nothing changes and the exit code is 4. Always pass the lease id you got from " +
      '"keypool acquire". Releasing a free key succeeds and changes nothing; an unknown or dead key exits 3. ' +
      "Retried on UNAVAILABLE only with --lease (a blind retry could free someone else's lease).",
  ],
  flags: { lease: { type: "string", value: "ID", help: "the lease id from acquire; release only under this lease" } },
  positionals: { min: 1, max: 1 },
  jsonShape: KEY_JSON_SHAPE,
  run: async ({ values, positionals, client, json, io }) => {
    const lease = values.lease === undefined ? undefined : leaseArg(String(values.lease));
    const name = keyArg(positionals[0]!);
    // Without --lease the command says so in its help: the CLI's spelling of an unfenced release.
    const key = lease === undefined
      ? await client.releaseKey(name, { unfenced: true, signal: io.signal })
      : await client.releaseKey(name, lease, { signal: io.signal });
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
  run: async ({ values, positionals, client, json, io }) => {
    if (values.lease === undefined) throw new UsageError("renew needs --lease ID: the lease id acquire printed");
    const key = await client.renewLease(keyArg(positionals[0]!), leaseArg(String(values.lease)), { signal: io.signal });
    writeKey(io.stdout, json, key);
    return 0;
  },
};

/** `keypool delete KEY`. */
export const remove: Command = {
  name: "delete",
  synopsis: "KEY",
  summary: "Purge a key from the pool, free or blocked.",
  description: [
    "Deletion is final. An unknown or dead key exits 3. Retried on UNAVAILABLE; when a retry finds the key gone, " +
      "an earlier attempt deleted it, so that counts as success.",
  ],
  flags: {},
  positionals: { min: 1, max: 1 },
  jsonShape: '{"key", "deleted": true}',
  run: async ({ positionals, client, json, io }) => {
    const key = keyArg(positionals[0]!);
    await client.deleteKey(key, { signal: io.signal });
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
  description: ["Prints the key's state, lease, block end and life end. An unknown or dead key exits 3."],
  flags: {},
  positionals: { min: 1, max: 1 },
  jsonShape: KEY_JSON_SHAPE,
  run: async ({ positionals, client, json, io }) => {
    const key = await client.getKey(keyArg(positionals[0]!), { signal: io.signal });
    writeKey(io.stdout, json, key);
    return 0;
  },
};

/** `keypool stats`. */
export const stats: Command = {
  name: "stats",
  synopsis: "",
  summary: "Count the pool's keys and show its TTLs and capacity.",
  description: ["Counts are live keys (dead keys are not counted). Needs a token whose role may call GetPoolStats."],
  flags: {},
  positionals: { min: 0, max: 0 },
  jsonShape: '{"total", "free", "blocked", "maxKeys", "blockTtlMs", "keepaliveTtlMs"} (numbers; TTLs in milliseconds)',
  run: async ({ client, json, io }) => {
    const s = await client.getPoolStats({ signal: io.signal });
    if (json) writeJson(io.stdout, statsJson(s));
    else io.stdout.write(statsTable(s));
    return 0;
  },
};
