import type { KeyPoolClient } from "../../client/key-pool-client.js";
import { MAX_GENERATE } from "../../pool/rules.js";
import type { PoolKey } from "../../client/types.js";
import { iso, keyJson, ProgressBar } from "../output.js";
import type { Sink } from "../output.js";
import { integerArg } from "./args.js";
import type { Command } from "./command.js";

/** Most keys one GenerateKeys call may ask for. */
export const GENERATE_BATCH = MAX_GENERATE;
/** Most keys one `keypool generate` may ask for (the largest pool capacity). */
const MAX_COUNT = 100_000_000;

/** Prints keys as they arrive: rows of a table, or the items of one JSON document. */
function keyPrinter(out: Sink, json: boolean): { batch(keys: readonly PoolKey[]): void; end(): void } {
  let printed = 0;
  out.write(json ? '{"keys": [\n' : `${"KEY".padEnd(27)}  EXPIRES AT\n`);
  return {
    batch: (keys) => {
      if (keys.length === 0) return;
      if (json) out.write(`${printed ? ",\n" : ""}${keys.map((k) => `  ${JSON.stringify(keyJson(k))}`).join(",\n")}`);
      else out.write(keys.map((k) => `${k.key.padEnd(27)}  ${iso(k.expiresAt)}\n`).join(""));
      printed += keys.length;
    },
    end: () => void (json && out.write(`${printed ? "\n" : ""}]}\n`)),
  };
}

/** Generates `count` keys in calls of at most 1000, printing each batch; rethrows a failure after printing. */
async function generateAll(client: KeyPoolClient, count: number, out: Sink, err: Sink, json: boolean, signal: AbortSignal): Promise<void> {
  const printer = keyPrinter(out, json);
  const bar = count > GENERATE_BATCH ? new ProgressBar(err, count, "keys") : undefined;
  let done = 0;
  try {
    while (done < count) {
      const keys = await client.generateKeys(Math.min(GENERATE_BATCH, count - done), { signal });
      printer.batch(keys);
      done += keys.length;
      bar?.update(done);
    }
  } finally {
    bar?.finish();
    printer.end();
  }
}

/** `keypool generate [-n N]`. */
export const generate: Command = {
  name: "generate",
  synopsis: "[-n N]",
  summary: "Add N new free keys to the pool and print them.",
  description: [
    "Each key lives for one keepalive TTL unless kept alive. A count over 1000 is split into calls of at most " +
      "1000 keys, with a progress bar on stderr when stderr is a terminal. Keys are printed as each call returns, " +
      "so if a call fails part-way (for example RESOURCE_EXHAUSTED when the pool is full) the keys already added are " +
      "still printed and the exit code tells the failure. Never retried: a retry could add keys twice.",
  ],
  flags: { count: { type: "string", short: "n", value: "N", default: "1", help: `how many keys to add (1 to ${MAX_COUNT})` } },
  positionals: { min: 0, max: 0 },
  jsonShape: '{"keys": [{"key", "state", "leaseId", "blockedUntil", "expiresAt", "createdAt"}, ...]} (timestamps in ISO 8601)',
  run: async ({ values, client, json, io }) => {
    const count = integerArg("--count", String(values.count), 1, MAX_COUNT);
    await generateAll(client, count, io.stdout, io.stderr, json, io.signal);
    return 0;
  },
};
