import { spawn } from "node:child_process";

/**
 * Reads every record of every tree, read-only (a dir that is then refused stays as it was), and
 * checks that their number is what the engine counts; exits 0 when all of it worked.
 */
const SCRIPT = `
const { open } = await import(process.argv[1]);
const root = open({ path: process.argv[2], noSubdir: false, readOnly: true, maxDbs: 4 });
for (const name of ["keys", "meta"]) {
  const db = root.openDB({ name, encoding: "binary", cache: false });
  let read = 0;
  for (const { value } of db.getRange()) read += value.length >= 0 ? 1 : 0;
  if (read !== db.getCount()) {
    process.stderr.write("error: the " + name + " tree counts " + db.getCount() + " records but " + read + " could be read\\n");
    process.exit(2);
  }
}
await root.close();
`;

/**
 * Reads the whole database of `dir` in a child process, so that damage
 * which would crash the engine (SIGSEGV or SIGBUS on a truncated file, an assertion or a heap
 * error on a damaged page: LMDB trusts its pages) kills the child rather than the server.
 * Returns a one-line description of the damage, or undefined when all of it worked. Damage to the
 * engine's free-page tree is not read here (lmdb-js cannot open it) and may still crash the first
 * write. O(n), plus
 * the start-up of one Node process; run before every open of a dir that holds data.
 */
export async function probeReadable(dir: string): Promise<string | undefined> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", SCRIPT, "--", import.meta.resolve("lmdb"), dir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-2_000)));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c, s) => resolve([c, s]));
  });
  if (signal) return `reading it crashed the engine (${signal})`;
  if (code !== 0) return `reading it failed (${lastLine(stderr)})`;
  return undefined;
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n").filter((l) => /error/i.test(l));
  return (lines[0] ?? text.trim().split("\n").at(-1) ?? "no message").trim().slice(0, 300);
}
