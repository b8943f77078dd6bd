import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
/** What `npm run build` compiles (tsconfig.build.json) and what decides its output. */
const INPUTS = ["src", "gen", "tsconfig.json", "tsconfig.build.json"];
/** The built file every test of the built package starts from. */
const MARKER = join(ROOT, "dist", "src", "cli", "main.js");

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function builtAt(): number {
  try {
    return statSync(MARKER).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * vitest global setup: builds dist/ (`npm run build`) when it is missing or older than its
 * sources, once per test run, before any test file starts; the tests of the built package and
 * of `npm start` run what users run. Costs a few milliseconds when dist/ is current.
 */
export function setup(): void {
  if (builtAt() >= Math.max(...INPUTS.map((p) => newest(join(ROOT, p))))) return;
  execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
}
