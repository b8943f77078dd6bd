import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCerts } from "../support/certs.js";
import { blockTypeErrors, codeBlocks, installCli, runShBlocks, runTsBlock } from "../support/doc-blocks.js";
import type { Block, RunPlace } from "../support/doc-blocks.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

/** Every code block of docs/client-guide.md runs here, as written, against a real server. */
const DOC = readFileSync(new URL("../../docs/client-guide.md", import.meta.url), "utf8");

/** Marked `<!-- run against a TLS server ... -->`. */
const isTls = (b: Block): boolean => b.note.includes("TLS server");

const ALL = codeBlocks(DOC);
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
  installCli(dir);
});
afterAll(async () => {
  await plain.close();
  await tls.close();
  certs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Where a block runs: TLS blocks in the certificates' folder against the TLS server. */
function place(tlsBlock: boolean): RunPlace {
  return {
    cwd: tlsBlock ? certs.dir : dir,
    binDir: dir,
    env: { KEYPOOL_ADDR: tlsBlock ? `localhost:${tls.server.port}` : plain.address },
  };
}

describe("docs/client-guide.md", () => {
  it("has the examples this test expects", () => {
    expect(ALL.filter((b) => b.lang === "ts")).toHaveLength(5);
    expect(ALL.filter((b) => b.lang === "sh" && !isTls(b))).toHaveLength(4);
    expect(ALL.filter(isTls).map((b) => b.lang)).toEqual(["ts", "sh"]);
  });

  it("every TypeScript example compiles under tsc (strict), importing the package as a user would", () => {
    expect(blockTypeErrors(ALL.filter((b) => b.lang === "ts"), "guide", dir)).toEqual([]);
  }, 120_000); // a few seconds of CPU: a whole tsc program

  it.each(ALL.filter((b) => b.lang === "ts").map((b) => [b.line, b] as const))(
    "the TypeScript example at line %i runs",
    async (_line, block) => {
      const result = await runTsBlock(block, "guide", place(isTls(block)));
      expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(result.stdout).not.toBe("");
    },
    60_000,
  );

  it("the shell examples run, in order, as one script", async () => {
    const result = await runShBlocks(ALL.filter((b) => b.lang === "sh" && !isTls(b)), "guide", place(false));
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("exit code 3");
    expect(result.stdout).toMatch(/keepalive TTL\s+5m/);
    expect(JSON.parse(readFileSync(join(dir, "keys.json"), "utf8")).keys).toHaveLength(2500);
    expect(readFileSync(join(dir, "hold.log"), "utf8")).toContain("Ctrl-C to stop");
  }, 180_000);

  it("the TLS shell example runs against a TLS server", async () => {
    const result = await runShBlocks(ALL.filter((b) => b.lang === "sh" && isTls(b)), "guide", place(true));
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(result.stdout)).toMatchObject({ keepaliveTtlMs: 300_000 });
  }, 60_000);
});
