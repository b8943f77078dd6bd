import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const DOC = readFileSync(join(ROOT, "docs", "other-languages.md"), "utf8");
const BLOCKS = [...DOC.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
const TEMPLATE = readFileSync(join(ROOT, "examples", "python", "buf.gen.yaml"), "utf8");
const WORKER = readFileSync(join(ROOT, "examples", "python", "worker.py"), "utf8");
/** Debian's Python, where python3-grpcio and python3-protobuf install (not a pyenv or venv one). */
const PYTHON = "/usr/bin/python3";
const scratch = mkdtempSync(join(tmpdir(), "keypool-python-"));

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("docs/other-languages.md", () => {
  it("has only blocks this test checks: two YAML templates, the shell steps, the Python excerpt", () => {
    expect(BLOCKS.map((b) => b.lang)).toEqual(["yaml", "sh", "python", "yaml"]);
  });

  it("the Python template is examples/python/buf.gen.yaml, and the excerpt is part of the worker that runs", () => {
    expect(BLOCKS[0]!.body).toBe(TEMPLATE.replace(/^#.*\n/gm, ""));
    expect(WORKER).toContain(BLOCKS[2]!.body);
  });

  it("its shell steps, run as written in a copy of the project, generate stubs and run the Python worker against a real server", async () => {
    expect(existsSync(PYTHON), `${PYTHON} is missing: apt-get install python3 python3-grpcio python3-protobuf`).toBe(true);
    await run(PYTHON, ["-c", "import grpc, google.protobuf"]).catch((err: Error) => {
      throw new Error(`Debian's python3-grpcio and python3-protobuf are needed (.ci/run installs them): ${err.message}`);
    });
    for (const entry of ["proto", "examples"]) cpSync(join(ROOT, entry), join(scratch, entry), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(scratch, "node_modules"));
    const { keys } = await t.client.generateKeys({ count: 1 });
    const env = { ...process.env, PATH: `/usr/bin:${process.env.PATH}` };
    const outputs: string[] = [];
    for (const line of BLOCKS[1]!.body.split("\n").filter(Boolean)) {
      const { stdout } = await run("bash", ["-c", line.replace("localhost:50051", t.address)], { cwd: scratch, env, timeout: 60_000 });
      outputs.push(stdout);
    }
    const steps = outputs.at(-1)!.trim().split("\n").map((l) => JSON.parse(l) as Record<string, string | null>);
    expect(steps.map((s) => [s.step, s.state])).toEqual([
      ["acquired", "KEY_STATE_BLOCKED"], ["renewed", "KEY_STATE_BLOCKED"], ["kept alive", "KEY_STATE_BLOCKED"], ["released", "KEY_STATE_FREE"],
    ]);
    const key = keys[0]!.key;
    expect(steps.every((s) => s.key === `${key.slice(0, 7)}…`)).toBe(true); // the only key, never printed whole
    expect(outputs.join("")).not.toContain(key);
    expect(Date.parse(steps[1]!.blocked_until!)).toBeGreaterThanOrEqual(Date.parse(steps[0]!.blocked_until!));
    expect((await t.client.getKey({ key })).key!.state).toBe(1); // free again, as the server sees it
  });

  it("the Go template parses and names both Go plugins and keypool's proto/ (not run: no Go toolchain here)", () => {
    const go = parse(BLOCKS[3]!.body) as { version: string; inputs: { subdir: string }[]; plugins: { local: string }[]; managed: { enabled: boolean } };
    expect(go.version).toBe("v2");
    expect(go.managed.enabled).toBe(true);
    expect(go.inputs[0]!.subdir).toBe("proto");
    expect(existsSync(join(ROOT, go.inputs[0]!.subdir, "keypool", "v1", "keypool.proto"))).toBe(true);
    expect(go.plugins.map((p) => p.local)).toEqual(["protoc-gen-go", "protoc-gen-go-grpc"]);
  });
});
