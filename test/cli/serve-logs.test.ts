import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts `keypool serve` and returns its first `n` log lines, parsed. */
async function serveLines(args: string[], n: number): Promise<{ child: ChildProcess; lines: Record<string, any>[] }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    if (lines.length === n) break;
  }
  return { child, lines };
}

describe("keypool serve: start-up logs and the metrics port", () => {
  it("logs its configuration as fields, keeps counts readable, and binds the metrics port to --host", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keypool-logs-"));
    dirs.push(dir);
    const { child, lines } = await serveLines(
      ["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--data-dir", dir, "--max-keys", "5000", "--block-ttl", "90s"],
      2,
    );
    const [startup, recovery] = lines;
    expect(startup!.config).toMatchObject({
      host: "127.0.0.1", store: "durable", dataDir: dir, blockTtlMs: 90_000, maxKeys: 5000, reflection: "open",
      metrics: { host: "127.0.0.1", port: 0 }, limits: { maxStreams: 10_000, maxHealthWatches: 1000 },
    });
    // A count is not a secret: redaction leaves numbers alone.
    expect(JSON.stringify(recovery)).not.toContain("[redacted]");
    expect(recovery!.recovery).toMatchObject({ keys: 0 });
    const base = `http://127.0.0.1:${startup!.metricsPort as number}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('grpc_code="NotFound"');
    child.kill("SIGTERM");
    expect((await once(child, "exit"))[0]).toBe(0);
  });
});
