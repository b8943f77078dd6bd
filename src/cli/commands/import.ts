import type { KeyPoolClient } from "../../client/key-pool-client.js";
import { KeyPoolClientError } from "../../client/errors.js";
import { assertKey } from "../../pool/key-format.js";
import { MAX_IMPORT, messages } from "../../pool/rules.js";
import { ProgressBar, UsageError, writeJson } from "../output.js";
import type { Sink } from "../output.js";
import { asUsage } from "./args.js";
import type { Command, Source } from "./command.js";

/** Most keys one ImportKeys call may carry. */
export const IMPORT_BATCH = MAX_IMPORT;

/** A key read from the input, with the line it came from (1-based). */
interface InputKey {
  readonly key: string;
  readonly line: number;
}

/** All of `source` as text. O(input). */
async function readAll(source: Source): Promise<string> {
  let text = "";
  for await (const chunk of source) text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
  return text;
}

/**
 * The keys of `text`, one per line: surrounding spaces and tabs (and a CRLF's CR) dropped, blank
 * lines skipped. A malformed key or one repeated is a UsageError naming its line, never its
 * text, so nothing is imported from a file with a mistake the client can see. O(input).
 */
export function parseKeys(text: string): InputKey[] {
  const keys: InputKey[] = [];
  const seen = new Map<string, number>();
  text.split("\n").forEach((raw, i) => {
    const key = raw.replace(/^[ \t]+|[ \t\r]+$/g, "");
    if (key === "") return;
    const line = i + 1;
    asUsage(() => assertKey(key, `line ${line}`));
    const first = seen.get(key);
    if (first !== undefined) throw new UsageError(messages.keyRepeated(`line ${line}`, `line ${first}`));
    seen.set(key, line);
    keys.push({ key, line });
  });
  return keys;
}

/**
 * A failed call of the batch `batch`, its details speaking of lines instead of indexes
 * (`keys[3]` -> `line 17`), saying how much went in before it. Never holds a key.
 */
function atLine(err: KeyPoolClientError, batch: readonly InputKey[], imported: number): KeyPoolClientError {
  let named = false;
  const details = err.details.replace(/\bkeys\[(\d+)\]/g, (whole, index: string) => {
    const key = batch[Number(index)];
    named ||= key !== undefined;
    return key ? `line ${key.line}` : whole;
  });
  const where = named ? "" : `lines ${batch[0]!.line}-${batch[batch.length - 1]!.line}: `;
  const before = `${imported} key(s) before line ${batch[0]!.line} were imported, none from there on`;
  return new KeyPoolClientError(err.code, err.method, `${where}${details} (${before})`, { cause: err });
}

/** Imports `keys` in calls of IMPORT_BATCH; resolves with the pool's full name and the count, or rejects naming the line. */
async function importAll(client: KeyPoolClient, keys: readonly InputKey[], pool: string, err: Sink, signal: AbortSignal): Promise<{ pool: string; imported: number }> {
  const bar = new ProgressBar(err, keys.length, "keys");
  let imported = 0;
  let fullName = pool;
  try {
    for (let i = 0; i < keys.length; i += IMPORT_BATCH) {
      const batch = keys.slice(i, i + IMPORT_BATCH);
      try {
        const added = await client.importKeys(batch.map((k) => k.key), { pool, signal });
        fullName = added[0]?.pool ?? fullName;
      } catch (thrown) {
        throw atLine(KeyPoolClientError.from(thrown, "ImportKeys"), batch, imported);
      }
      imported += batch.length;
      bar.update(imported);
    }
  } finally {
    bar.finish();
  }
  return { pool: fullName, imported };
}

/** `keypool import [--pool P] < keys.txt`. */
export const importKeys: Command = {
  name: "import",
  synopsis: "< FILE",
  summary: "Add keys you already have (one per line on stdin) to the pool as free keys.",
  description: [
    "Reads keys from stdin, one per line (spaces and tabs around a key and blank lines are ignored): API keys " +
      "someone else issued, each 8 to 512 characters of printable ASCII without spaces. They join --pool (created " +
      "if it does not exist) as free keys, alive for one keepalive TTL, like generated keys: keep them alive.",
    "Every line is checked before anything is sent: a malformed or repeated key exits 2 naming its line, and " +
      "nothing is imported. Keys are then sent in calls of 1000, each all or none, with a progress bar on stderr " +
      "when stderr is a terminal. When a call fails (a key the pool already holds exits 4, a full pool exits 4), " +
      "the message names the line and says how many keys went in before it; later lines are not sent. Never " +
      "retried. Keys are never printed, only counted. Needs an admin token.",
  ],
  flags: {},
  positionals: { min: 0, max: 0 },
  jsonShape: '{"pool", "imported"} (the pool\'s full name and how many keys were imported)',
  run: async ({ client, json, io, pool }) => {
    if (io.stdin.isTTY) throw new UsageError("import reads keys from stdin, one per line: keypool import < keys.txt");
    const keys = parseKeys(await readAll(io.stdin));
    if (keys.length === 0) throw new UsageError("stdin held no keys: give one key per line");
    const report = await importAll(client, keys, pool, io.stderr, io.signal);
    if (json) writeJson(io.stdout, report);
    else io.stdout.write(`imported ${report.imported} key(s) into pool ${report.pool}\n`);
    return 0;
  },
};
