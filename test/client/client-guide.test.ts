import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCerts } from "../support/certs.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { PACKAGE_ENTRY, typeErrors } from "../support/typecheck.js";

/** Every code block of docs/client-guide.md runs here, as written, against a real server. */
const DOC = readFileSync(new URL("../../docs/client-guide.md", import.meta.url), "utf8");
const SRC_INDEX = pathToFileURL(new URL("../../src/index.ts", import.meta.url).pathname).href;
const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

interface Block {
  readonly lang: "ts" | "sh";
  readonly code: string;
  /** Marked `<!-- run against a TLS server ... -->`. */
  readonly tls: boolean;
  readonly line: number;
}

function blocks(doc: string): Block[] {
  return [...doc.matchAll(/(<!--([^]*?)-->\n)?```(ts|sh)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[3] as "ts" | "sh",
    code: m[4]!,
    tls: (m[2] ?? "").includes("TLS server"),
    line: doc.slice(0, m.index).split("\n").length + (m[1] ? 1 : 0),
  }));
}

const ALL = blocks(DOC);
const certs = makeCerts();
const dir = mkdtempSync(join(tmpdir(), "keypool-guide-"));
let plain: TestServer;
let tls: TestServer;
beforeAll(async () => {
  plain = await startTestServer();
  tls = await startTestServer({
    credentials: grpc.credentials.createSsl(certs.ca),
    server: { tls: { cert: certs.serverCert, key: certs.serverKey } },
  });
  // `keypool` on PATH runs this repository's CLI, as the package's bin would.
  writeFileSync(join(dir, "keypool"), `#!/bin/sh\nexec "${process.execPath}" --import "${TSX}" "${MAIN}" "$@"\n`);
  chmodSync(join(dir, "keypool"), 0o755);
});
afterAll(async () => {
  await plain.close();
  await tls.close();
  certs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(command: string, args: string[], block: Block): Promise<Run> {
  const child = spawn(command, args, {
    cwd: block.tls ? certs.dir : dir,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, KEYPOOL_ADDR: block.tls ? `localhost:${tls.server.port}` : plain.address },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number];
  return { code, stdout, stderr };
}

/** Runs a TypeScript block as a program; `keypool` imports this repository's src/index.ts. */
async function runTs(block: Block): Promise<Run> {
  const file = join(dir, `example-line-${block.line}.mts`);
  writeFileSync(file, block.code.replaceAll('from "keypool"', `from "${SRC_INDEX}"`));
  return run(process.execPath, ["--import", TSX, file], block);
}

/** Runs shell blocks, in order, as one bash script. */
async function runSh(group: Block[]): Promise<Run> {
  const file = join(dir, `script-line-${group[0]!.line}.sh`);
  writeFileSync(file, group.map((b) => `# docs/client-guide.md line ${b.line}\n${b.code}`).join("\n"));
  return run("bash", ["-euo", "pipefail", file], group[0]!);
}

describe("docs/client-guide.md", () => {
  it("has the examples this test expects", () => {
    expect(ALL.filter((b) => b.lang === "ts")).toHaveLength(5);
    expect(ALL.filter((b) => b.lang === "sh" && !b.tls)).toHaveLength(4);
    expect(ALL.filter((b) => b.tls).map((b) => b.lang)).toEqual(["ts", "sh"]);
  });

  it("every TypeScript example compiles under tsc (strict), importing the package as a user would", () => {
    const files = ALL.filter((b) => b.lang === "ts").map((b) => {
      const file = join(dir, `typed-line-${b.line}.mts`);
      writeFileSync(file, b.code.replaceAll('from "keypool"', `from ${JSON.stringify(PACKAGE_ENTRY)}`));
      return file;
    });
    expect(typeErrors(files)).toEqual([]);
  }, 120_000); // a few seconds of CPU: a whole tsc program

  it.each(ALL.filter((b) => b.lang === "ts").map((b) => [b.line, b] as const))(
    "the TypeScript example at line %i runs",
    async (_line, block) => {
      const result = await runTs(block);
      expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(result.stdout).not.toBe("");
    },
    60_000,
  );

  it("the shell examples run, in order, as one script", async () => {
    const result = await runSh(ALL.filter((b) => b.lang === "sh" && !b.tls));
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("exit code 3");
    expect(result.stdout).toMatch(/keepalive TTL\s+5m/);
    expect(JSON.parse(readFileSync(join(dir, "keys.json"), "utf8")).keys).toHaveLength(2500);
    expect(readFileSync(join(dir, "hold.log"), "utf8")).toContain("Ctrl-C to stop");
  }, 180_000);

  it("the TLS shell example runs against a TLS server", async () => {
    const result = await runSh(ALL.filter((b) => b.lang === "sh" && b.tls));
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(result.stdout)).toMatchObject({ keepaliveTtlMs: 300_000 });
  }, 60_000);
});
