import type { KeyPoolClient } from "../../client/key-pool-client.js";
import { MAX_GENERATE } from "../../pool/rules.js";
import type { PoolCallOptions, PoolKey } from "../../client/types.js";
import { iso, KEY_JSON_SHAPE, keyJsonStream, ProgressBar } from "../output.js";
import type { Sink } from "../output.js";
import { integerArg } from "./args.js";
import type { Command } from "./command.js";

/** Most keys one GenerateKeys call may ask for. */
export const GENERATE_BATCH = MAX_GENERATE;
/** Most keys one `keypool generate` may ask for (the largest pool capacity). */
const MAX_COUNT = 100_000_000;

/** Prints keys as they arrive: rows of a table, or the items of one JSON document. */
function keyPrinter(out: Sink, json: boolean): { batch(keys: readonly PoolKey[]): void; end(): void } {
  if (json) return keyJsonStream(out);
  out.write(`${"KEY".padEnd(27)}  EXPIRES AT\n`);
  return { batch: (keys) => void out.write(keys.map((k) => `${k.key.padEnd(27)}  ${iso(k.expiresAt)}\n`).join("")), end: () => {} };
}

/** Generates `count` keys in calls of at most 1000, printing each batch; rethrows a failure after printing. */
async function generateAll(client: KeyPoolClient, count: number, out: Sink, err: Sink, json: boolean, options: PoolCallOptions): Promise<void> {
  const printer = keyPrinter(out, json);
  const bar = count > GENERATE_BATCH ? new ProgressBar(err, count, "keys") : undefined;
  let done = 0;
  try {
    while (done < count) {
      const keys = await client.generateKeys(Math.min(GENERATE_BATCH, count - done), options);
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
    "Each key lives for one keepalive TTL unless kept alive. With --pool the keys go to that pool, which is created if it does not exist yet. A count over 1000 is split into calls of at most " +
      "1000 keys, with a progress bar on stderr when stderr is a terminal. Keys are printed as each call returns, " +
      "so if a call fails part-way (for example RESOURCE_EXHAUSTED when the pool is full) the keys already added are " +
      "still printed and the exit code tells the failure. Never retried: a retry could add keys twice.",
  ],
  flags: { count: { type: "string", short: "n", value: "N", default: "1", help: `how many keys to add (1 to ${MAX_COUNT})` } },
  positionals: { min: 0, max: 0 },
  jsonShape: `{"keys": [key, ...]}, each key ${KEY_JSON_SHAPE}`,
  run: async ({ values, client, json, io, pool }) => {
    const count = integerArg("--count", String(values.count), 1, MAX_COUNT);
    await generateAll(client, count, io.stdout, io.stderr, json, { pool, signal: io.signal });
    return 0;
  },
};
