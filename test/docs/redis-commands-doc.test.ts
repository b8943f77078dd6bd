import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseServeConfig } from "../../src/cli/config.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
/** Every `npm start -- …` line of the README's shell blocks: each must be a valid `serve` command line. */
const starts = [...README.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.split("\n"))
  .map((line) => line.replace(/\s+#.*$/, "").trim())
  .filter((line) => line.startsWith("npm start -- "));

describe("README shell examples", () => {
  it("include the Redis Cluster and Sentinel command lines", () => {
    expect(starts.some((l) => l.includes("--redis-cluster"))).toBe(true);
    expect(starts.some((l) => l.includes("--redis-sentinels"))).toBe(true);
  });

  it.each(starts)("%s parses as keypool serve flags", (line) => {
    const args = line.slice("npm start -- ".length).split(/\s+/);
    expect(() => parseServeConfig(args, {})).not.toThrow();
  });
});
