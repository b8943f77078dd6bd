import { spawn } from "node:child_process";

/** Reads every record of every tree, read-only; exits 0 when all of them could be read. */
const SCRIPT = `
const { open } = await import(process.argv[1]);
const root = open({ path: process.argv[2], noSubdir: false, readOnly: true, maxDbs: 4 });
let bytes = 0;
for (const name of ["keys", "meta"]) {
  const db = root.openDB({ name, encoding: "binary", cache: false });
  for (const { value } of db.getRange()) bytes += value.length;
}
process.stdout.write(String(bytes));
`;

/**
 * Reads the whole database of `dir` in a child process, so that damage which would crash the
 * engine (SIGSEGV, SIGBUS on a truncated file) kills the child rather than the server. Returns
 * a description of the damage, or undefined when every record could be read. O(n), plus the
 * start-up of one Node process: used only when the header looks suspect.
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
