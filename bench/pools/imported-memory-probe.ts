/**
 * Child process of the pools benchmark (needs --expose-gc): heap and external bytes per key of a
 * `KeyPool` holding `--size` IMPORTED keys of 51 characters ("sk-proj-" + 43, the shape of an LLM
 * provider's key), after full GCs. The key strings are made flat and one-byte, as protobuf
 * decoding makes them on the server, and only the pool keeps them.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { KeyPool } from "../../src/pool/index.js";
import { MAX_IMPORT } from "../../src/pool/rules.js";
import { systemRandom } from "../../src/random.js";
import { reply } from "../child.js";
import { delta, footprint } from "../footprint.js";

/** Length of each imported key. */
export const IMPORTED_KEY_CHARS = 51;

/** `n` distinct flat one-byte strings of 51 characters. */
function providerKeys(n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    // latin1 decoding of a Buffer yields a flat sequential string, as the wire decoder does.
    const bytes = Buffer.from(`sk-proj-${randomBytes(33).toString("base64url").slice(0, IMPORTED_KEY_CHARS - 8)}`, "latin1");
    keys.push(bytes.toString("latin1"));
  }
  return keys;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: "string" } } });
  const size = Number(values.size);
  const before = footprint();
  const pool = new KeyPool({ blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: size }, systemRandom);
  for (let left = size; left > 0; left -= MAX_IMPORT) pool.import(providerKeys(Math.min(MAX_IMPORT, left)), 1);
  const free = footprint();
  for (let i = 0; i < size; i++) pool.acquire(2);
  const blocked = footprint();
  reply({ type: "result", size, keyChars: IMPORTED_KEY_CHARS, allFree: delta(free, before, size), allBlocked: delta(blocked, before, size), poolSize: pool.size });
}

void main().catch((err: unknown) => {
  reply({ type: "error", message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
