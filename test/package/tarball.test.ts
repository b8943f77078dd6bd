import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const scratch = mkdtempSync(join(tmpdir(), "keypool-tarball-"));
const project = join(scratch, "project");
const app = join(scratch, "app");
const tarball = join(scratch, `keypool-${version}.tgz`);
let files: string[] = [];

afterEach(killAll);

/** Every process below `pid`. */
function descendants(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  // Pack from a copy of the project, so that prepack's build writes the copy's dist/, not ours.
  for (const entry of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "LICENSE", "README.md", "src", "gen", "proto", "docs"]) {
    cpSync(join(ROOT, entry), join(project, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"));
  await run("npm", ["pack", "--pack-destination", scratch], { cwd: project });
  files = (await run("tar", ["tzf", tarball])).stdout.split("\n").filter(Boolean);
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run("npm", ["install", tarball, "--no-audit", "--no-fund"], { cwd: app });
}, 240_000);

describe("npm pack: the tarball", () => {
  it("holds the built code, the descriptor set, proto/, LICENSE and docs; no tests, benchmarks, CI or TypeScript sources", () => {
    expect(files).toEqual(expect.arrayContaining([
      "package/package.json", "package/LICENSE", "package/README.md", "package/dist/src/cli/main.js", "package/dist/src/index.js",
      "package/dist/src/index.d.ts", "package/gen/keypool.binpb", "package/proto/keypool/v1/keypool.proto",
    ]));
    expect(files.filter((f) => /^package\/(test|bench|\.ci|src|examples)\/|\.map$|\.ts$(?<!\.d\.ts)/.test(f))).toEqual([]);
    expect(readFileSync(join(project, "LICENSE"), "utf8")).toContain("Apache License\n                           Version 2.0, January 2004");
  });

  it("installs into an empty folder: npx keypool --version", async () => {
    expect((await run("npx", ["--no-install", "keypool", "--version"], { cwd: app })).stdout).toBe(`keypool ${version}\n`);
  });

  it("npx keypool serve serves, and keypool/client talks to it", async () => {
    const npx = spawnKeypool(["--no-install", "keypool", "serve", "--host", "127.0.0.1", "--port", "0"], { command: ["npx"], cwd: app });
    const { port } = await logLine(npx.child, (line) => typeof line.port === "number");
    const program = join(app, "client.mjs");
    writeFileSync(program, [
      'import { createKeyPoolClient } from "keypool/client";',
      `const client = createKeyPoolClient("127.0.0.1:${port as number}");`,
      "const [key] = await client.generateKeys(1);",
      "const lease = await client.acquireKey();",
      "await client.releaseKey(lease.key, lease.leaseId);",
      "console.log(JSON.stringify({ same: key.key === lease.key, stats: await client.getPoolStats() }));",
      "client.close();",
    ].join("\n"));
    const out = JSON.parse((await run(process.execPath, [program], { cwd: app })).stdout) as { same: boolean; stats: { total: number; free: number } };
    expect(out).toMatchObject({ same: true, stats: { total: 1, free: 1 } });
    // npx runs the command through a shell that does not pass signals on: stop the server itself.
    const server = descendants(npx.child.pid!).find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("keypool\0serve"));
    process.kill(server!, "SIGTERM");
    expect(await npx.exited).toBe(0);
  });

  it("the installed command, node_modules/.bin/keypool serve, runs the durable store and drains on SIGTERM with exit 0", async () => {
    const dataDir = join(scratch, "data");
    const server = spawnKeypool(["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], { command: [join(app, "node_modules", ".bin", "keypool")], cwd: app });
    const { config } = await logLine(server.child, (line) => typeof line.port === "number");
    expect(config).toMatchObject({ store: "durable", dataDir }); // lmdb and fs-ext (native) load from the installed package
    const stopped = logLine(server.child, (line) => line.msg === "stopped");
    server.child.kill("SIGTERM");
    await stopped;
    expect(await server.exited).toBe(0);
  });
});
