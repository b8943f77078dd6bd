import { readFileSync } from "node:fs";

/**
 * keypool's version, from its package.json: two folders up when run from source (src/cli/),
 * three when run from the build (dist/src/cli/) or an installed package. Read once per call.
 */
export function packageVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "keypool" && pkg.version) return pkg.version;
    } catch {
      // not this folder: try the next one up
    }
  }
  return "unknown";
}
