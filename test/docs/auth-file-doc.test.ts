import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hashToken, parseAuthFile } from "../../src/server/auth.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const jsonBlocks = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe("README auth file example", () => {
  it("is an auth file the server accepts, with its hash placeholders filled in", () => {
    const example = jsonBlocks.find((block) => block.includes('"tokens"'));
    expect(example, "the README shows an auth file").toBeDefined();
    const entries = parseAuthFile("README.md", example!.replaceAll("<64 hex digits>", hashToken("t")));
    expect(entries.map((e) => [e.name, e.role, e.pools])).toEqual([
      ["ops", "admin", undefined],
      ["workers", "worker", undefined],
      ["llm-workers", "worker", ["openai", "anthropic"]],
      ["grafana", "reader", undefined],
    ]);
  });
});
