import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PACKAGE_ENTRY, typeErrors } from "./typecheck.js";

/** Runs the code blocks of a doc as programs and scripts, as a reader would. */

const SRC_INDEX = pathToFileURL(new URL("../../src/index.ts", import.meta.url).pathname).href;
const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** One fenced block of a doc. */
export interface Block {
  readonly lang: "ts" | "sh";
  readonly code: string;
  /** The text of an `<!-- ... -->` comment on the line before the block, or "". */
  readonly note: string;
  /** The line of the block's first code line in the doc. */
  readonly line: number;
}

/** Every ```ts and ```sh block of `doc`, in order. O(doc). */
export function codeBlocks(doc: string): Block[] {
  return [...doc.matchAll(/(<!--([^]*?)-->\n)?```(ts|sh)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[3] as "ts" | "sh",
    code: m[4]!,
    note: (m[2] ?? "").trim(),
    line: doc.slice(0, m.index).split("\n").length + (m[1] ? 1 : 0),
  }));
}

/** What a block did. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where and how a block runs. */
export interface RunPlace {
  /** The working directory; `keypool` on PATH comes from `installCli(binDir)`. */
  readonly cwd: string;
  readonly binDir: string;
  /** Added to the environment (KEYPOOL_ADDR, say). */
  readonly env: Readonly<Record<string, string>>;
}

/** Puts a `keypool` in `dir` that runs this repository's CLI, as the package's bin would. */
export function installCli(dir: string): void {
  writeFileSync(join(dir, "keypool"), `#!/bin/sh\nexec "${process.execPath}" --import "${TSX}" "${MAIN}" "$@"\n`);
  chmodSync(join(dir, "keypool"), 0o755);
}

/** Runs `command` to its exit, collecting its output. */
export async function runProcess(command: string, args: readonly string[], place: RunPlace): Promise<Run> {
  const child = spawn(command, args, {
    cwd: place.cwd,
    env: { ...process.env, PATH: `${place.binDir}:${process.env.PATH}`, ...place.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number];
  return { code, stdout, stderr };
}

/** Runs a TypeScript block as a program (file `name`.mts in binDir); `keypool` imports this repository's src/index.ts. */
export function runTsBlock(block: Block, name: string, place: RunPlace): Promise<Run> {
  const file = join(place.binDir, `${name}-line-${block.line}.mts`);
  writeFileSync(file, block.code.replaceAll('from "keypool"', `from "${SRC_INDEX}"`));
  return runProcess(process.execPath, ["--import", TSX, file], place);
}

/** Runs shell blocks, in order, as one `bash -euo pipefail` script. */
export function runShBlocks(group: readonly Block[], name: string, place: RunPlace): Promise<Run> {
  const file = join(place.binDir, `${name}-line-${group[0]!.line}.sh`);
  writeFileSync(file, group.map((b) => `# ${name} line ${b.line}\n${b.code}`).join("\n"));
  return runProcess("bash", ["-euo", "pipefail", file], place);
}

/** Type-checks TypeScript blocks under tsc (strict) as a user's program importing the package; the errors, or []. */
export function blockTypeErrors(blocks: readonly Block[], name: string, dir: string): string[] {
  const files = blocks.map((b) => {
    const file = join(dir, `${name}-typed-line-${b.line}.mts`);
    writeFileSync(file, b.code.replaceAll('from "keypool"', `from ${JSON.stringify(PACKAGE_ENTRY)}`));
    return file;
  });
  return typeErrors(files);
}
