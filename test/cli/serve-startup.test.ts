import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { collect, killAll, spawnKeypool } from "../support/serve-process.js";

const dir = mkdtempSync(join(tmpdir(), "keypool-startup-"));
const servers: Server[] = [];
afterEach(() => {
  killAll();
  for (const s of servers.splice(0)) s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `keypool serve ARGS` to its end: exit code, stdout lines, stderr text. */
async function serveToEnd(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string[]; stderr: string }> {
  const p = spawnKeypool(["serve", ...args], { env });
  const [out, err] = [collect(p.child.stdout), collect(p.child.stderr)];
  const code = await p.exited;
  return { code, stdout: out.text.split("\n").filter(Boolean), stderr: err.text };
}

interface StartupCase {
  readonly name: string;
  readonly args: string[];
  readonly env?: Record<string, string>;
  readonly stderr: string;
}

const notPem = join(dir, "cert.pem");
writeFileSync(notPem, "hello\n");

const cases = [
  { name: "a negative duration", args: ["--keepalive-ttl", "-1s"], stderr: 'keypool: invalid --keepalive-ttl "-1s": expected a positive duration like 60s, 5m or 1500ms, at most 8760h (365 days)\n' },
  { name: "a bad value in the environment", args: [], env: { KEYPOOL_PORT: "abc" }, stderr: 'keypool: invalid KEYPOOL_PORT="abc": expected a whole number from 0 to 65535\n' },
  { name: "a flag with its value forgotten", args: ["--data-dir", "--port", "0"], stderr: "keypool: --data-dir needs a value (to pass one that starts with a dash, write --data-dir=VALUE)\n" },
  { name: "a certificate file that is not PEM", args: ["--tls-cert", notPem, "--tls-key", notPem], stderr: `keypool: --tls-cert ${notPem} is not a PEM certificate: no start line\n` },
  { name: "a missing certificate file", args: ["--tls-cert", join(dir, "nope.pem"), "--tls-key", notPem], stderr: `keypool: cannot read --tls-cert ${join(dir, "nope.pem")}: ENOENT\n` },
] satisfies StartupCase[];

describe("keypool serve: start-up errors", () => {
  it.each(cases)("$name: one line on stderr, exit 2", async ({ args, env, stderr }) => {
    const run = await serveToEnd(args, env);
    expect([run.code, run.stderr, run.stdout]).toEqual([2, stderr, []]);
  });

  it("a port in use: one JSON log line naming the address, nothing on stderr, exit 2", async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    const run = await serveToEnd(["--host", "127.0.0.1", "--port", String(port)]);
    expect([run.code, run.stderr, run.stdout.length]).toEqual([2, "", 1]);
    expect(JSON.parse(run.stdout[0]!)).toMatchObject({
      level: 60, code: "EADDRINUSE", host: "127.0.0.1", port,
      msg: `cannot listen for gRPC on 127.0.0.1:${port}: the address is already in use; choose another --port (or --host)`,
    });
  });
});
