import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SERVE_FLAGS } from "../../src/cli/serve-flags.js";
import type { FlagSpec } from "../../src/cli/serve-flags.js";

const doc = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("docs/operations.md", () => {
  it.each(Object.entries(SERVE_FLAGS as Record<string, FlagSpec>))("documents --%s with its variable and default", (flag, spec) => {
    const shownDefault = spec.default === "" ? "unset" : `\`${spec.default}\``;
    expect(doc).toContain(`| \`--${flag}\` | \`${spec.env}\` | ${shownDefault} |`);
  });

  it("the README's quick start names the two commands", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm ci && npm test");
  });
});
