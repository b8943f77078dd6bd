import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hashToken } from "../../src/server/auth.js";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";

afterEach(killAll);

/** Runs `keypool serve` as users do, in its own process. */
const serve = (args: string[], env: Record<string, string> = {}) => spawnKeypool(["serve", ...args], { env }).child;
/** The first log line, parsed: the start-up line. */
const startupLine = logLine;

describe("keypool serve", () => {
  it("starts with one log line, serves, and on SIGTERM ends streams and exits 0 within 5 s", async () => {
    const child = serve(["--host", "127.0.0.1", "--port", "0", "--block-ttl", "90s"], { KEYPOOL_KEEPALIVE_TTL: "10m" });
    const line = await startupLine(child);
    expect(line.msg).toMatch(/listening on 127\.0\.0\.1:\d+ \(plaintext; no auth, loopback clients only\), store memory, block TTL 90s, keepalive TTL 10m/);
    const client = createTypedClient(KeyService, `127.0.0.1:${line.port as number}`);
    try {
      const stats = await client.getPoolStats({});
      expect(durationMs(stats.blockTtl!)).toBe(90_000);
      expect(durationMs(stats.keepaliveTtl!)).toBe(600_000);
      const { keys } = await client.generateKeys({ count: 1 });
      const stream = client.keepAlive();
      stream.write({ keys: [keys[0]!.key] });
      await once(stream, "data");
      const status = new Promise<grpc.StatusObject>((resolve) => {
        stream.on("error", () => {});
        stream.on("status", resolve);
      });
      const started = Date.now();
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await status).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it.each([
    { args: ["--keepalive-ttl", "soon"], error: 'keypool: invalid --keepalive-ttl "soon": expected a positive duration like 60s, 5m or 1500ms, at most 8760h (365 days)' },
    { args: ["--block-ttl", "9999999999999h"], error: 'keypool: invalid --block-ttl "9999999999999h": expected a positive duration like 60s, 5m or 1500ms, at most 8760h (365 days)' },
  ])("fails at start with a one-line error and exit code 2 on invalid config: $args", async ({ args, error }) => {
    const child = serve(args);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(child, "exit");
    expect(stderr.trim().split("\n")).toEqual([error]);
    expect(code).toBe(2);
  });

  it.each([
    { host: "no-such-host.invalid", why: "does not resolve" },
    { host: "192.0.2.1", why: "is not an address of this host" },
  ])("a --host it cannot listen on ($host): one log line saying why, exit 2", async ({ host, why }) => {
    const child = serve(["--host", host, "--port", "0"]);
    let stdout = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(JSON.parse(stdout.trim()).msg).toMatch(new RegExp(`cannot listen for gRPC on ${host.replace(/\./g, "\\.")}:0: the address ${why}`));
  });

  it("reloads --auth-file on SIGHUP: new tokens work, removed ones stop working", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keypool-hup-"));
    const file = join(dir, "auth.json");
    const write = (token: string) =>
      writeFileSync(file, JSON.stringify({ tokens: [{ name: "ops", role: "admin", sha256: hashToken(token) }] }));
    write("first-token");
    const child = serve(["--host", "127.0.0.1", "--port", "0", "--auth-file", file]);
    try {
      const line = await startupLine(child);
      expect(line.msg).toMatch(/bearer tokens from .*auth\.json/);
      const client = createTypedClient(KeyService, `127.0.0.1:${line.port as number}`);
      const as = (token: string) => {
        const metadata = new grpc.Metadata();
        metadata.set("authorization", `Bearer ${token}`);
        return client.getPoolStats({}, { metadata }).then(() => "OK", (e: grpc.ServiceError) => grpc.status[e.code]);
      };
      expect([await as("first-token"), await as("second-token")]).toEqual(["OK", "UNAUTHENTICATED"]);
      write("second-token");
      child.kill("SIGHUP");
      for (let i = 0; i < 200 && (await as("second-token")) !== "OK"; i++) await new Promise((r) => setTimeout(r, 25));
      expect([await as("first-token"), await as("second-token")]).toEqual(["UNAUTHENTICATED", "OK"]);
      client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
