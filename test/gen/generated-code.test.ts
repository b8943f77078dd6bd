import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const BIN = join(ROOT, "node_modules", ".bin");
const scratch = mkdtempSync(join(tmpdir(), "keypool-gen-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function buf(...args: string[]): string {
  return execFileSync(join(BIN, "buf"), args, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` },
    encoding: "utf8",
  });
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("proto and generated code", () => {
  it("the proto is buf lint clean (STANDARD)", () => {
    expect(buf("lint")).toBe("");
  });

  it("gen/ is exactly what `npm run generate` makes from proto/ (never stale, never hand-edited)", () => {
    buf("generate", "-o", scratch);
    buf("build", "-o", join(scratch, "gen", "keypool.binpb"));
    const fresh = join(scratch, "gen");
    const committed = join(ROOT, "gen");
    expect(files(committed)).toEqual(files(fresh));
    for (const file of files(fresh)) {
      expect(readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file))), `gen/${file} is stale: run npm run generate`).toBe(true);
    }
  });
});
