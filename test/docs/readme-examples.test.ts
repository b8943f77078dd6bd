import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { PACKAGE_ENTRY, typeErrors } from "../support/typecheck.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const SRC_INDEX = pathToFileURL(new URL("../../src/index.ts", import.meta.url).pathname).href;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const tsBlocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(join(tmpdir(), "keypool-readme-"));

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ maxPools: 1_000 }); // named pools, as keypool serve runs them
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("README examples", () => {
  it("has TypeScript examples", () => expect(tsBlocks.length).toBeGreaterThan(0));

  it("every TypeScript example compiles under tsc (strict), importing the package as a user would", () => {
    const files = tsBlocks.map((code, i) => {
      const file = join(dir, `typed-${i}.mts`);
      writeFileSync(file, code.replace('from "keypool"', `from ${JSON.stringify(PACKAGE_ENTRY)}`));
      return file;
    });
    expect(typeErrors(files)).toEqual([]);
  }, 120_000); // a few seconds of CPU: a whole tsc program

  it.each(tsBlocks.map((code, i) => [i, code] as const))("TypeScript example %i runs as written against a server", async (i, code) => {
    await t.client.generateKeys({ count: 3 });
    const program = code
      .replace('from "keypool"', `from ${JSON.stringify(SRC_INDEX)}`)
      .replaceAll("localhost:50051", t.address)
      .concat("\nclient.close();\n");
    const file = join(dir, `example-${i}.mts`);
    writeFileSync(file, program);
    const { stderr } = await promisify(execFile)(process.execPath, ["--import", TSX, file], { timeout: 30_000 });
    expect(stderr).toBe("");
  });
});
