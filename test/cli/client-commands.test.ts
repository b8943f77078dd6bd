import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_COMMANDS, helpOf } from "../../src/cli/commands/index.js";
import { COMMON_FLAGS } from "../../src/cli/commands/command.js";
import { TokenRegistry, hashToken } from "../../src/server/auth.js";
import { ManualScheduler } from "../client/support/manual-scheduler.js";
import { spawnCli, startCli } from "../client/support/run-cli.js";
import type { CliOptions, CliRun } from "../client/support/run-cli.js";
import { eventually } from "../support/eventually.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const UNKNOWN_KEY = "kp_AAAAAAAAAAAAAAAAAAAAAAAA";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** Runs a client command in-process against the suite's server (or `options.address`). */
function start(args: readonly string[], options: Partial<CliOptions> = {}): ReturnType<typeof startCli> {
  return startCli(args, { address: t.address, ...options });
}

function cli(args: readonly string[], options: Partial<CliOptions> = {}): Promise<CliRun> {
  return start(args, options).done;
}

function processRun(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return spawnCli(args, env).done;
}

async function freshKey(): Promise<string> {
  return (await t.client.generateKeys({ count: 1 })).keys[0]!.key;
}

describe("client commands: exit codes", () => {
  interface Case {
    readonly name: string;
    readonly args: () => Promise<string[]>;
    readonly code: number;
    readonly stderr?: RegExp;
  }
  /** A key blocked under a lease other than the one named. */
  const stale = async (): Promise<string[]> => {
    await freshKey();
    const { key } = await t.client.acquireKey({});
    return ["release", key!.key, "--lease", "A".repeat(24)];
  };
  const cases = [
    { name: "ok", args: async () => ["stats"], code: 0 },
    { name: "a missing KEY", args: async () => ["get"], code: 2, stderr: /expected: keypool get KEY/ },
    { name: "a malformed KEY", args: async () => ["get", "kp_nope"], code: 2, stderr: /KEY is malformed \(got 7 characters\)/ },
    { name: "an unknown flag", args: async () => ["stats", "--bogus"], code: 2, stderr: /Unknown option '--bogus'/ },
    { name: "a bad count", args: async () => ["generate", "-n", "0"], code: 2, stderr: /invalid --count "0"/ },
    { name: "a bad duration", args: async () => ["acquire", "--wait", "soon"], code: 2, stderr: /invalid --wait "soon"/ },
    { name: "INVALID_ARGUMENT from the server", args: async () => ["acquire", "--wait", "6m"], code: 2, stderr: /INVALID_ARGUMENT/ },
    { name: "an unknown key", args: async () => ["get", UNKNOWN_KEY], code: 3, stderr: /NOT_FOUND/ },
    { name: "deleting an unknown key", args: async () => ["delete", UNKNOWN_KEY], code: 3 },
    { name: "keeping an unknown key alive", args: async () => ["keepalive", UNKNOWN_KEY], code: 3 },
    { name: "a stale lease", args: stale, code: 4, stderr: /FAILED_PRECONDITION/ },
    { name: "an unreachable server", args: async () => ["stats", "--addr", "127.0.0.1:1", "--timeout", "2s"], code: 5, stderr: /^keypool stats: cannot reach keypool at 127\.0\.0\.1:1: connection refused/ },
    { name: "an unreadable CA file", args: async () => ["stats", "--tls-ca", "/nonexistent.pem"], code: 2, stderr: /cannot read --tls-ca/ },
  ] satisfies Case[];

  it("exits with the documented code for each outcome, one line on stderr", async () => {
    for (const c of cases) {
      const run = await cli(await c.args());
      expect({ name: c.name, code: run.code }).toEqual({ name: c.name, code: c.code });
      if (c.stderr) expect(run.stderr).toMatch(c.stderr);
      expect(run.stderr).not.toContain(UNKNOWN_KEY);
    }
  });

  it("no free key to acquire exits 3", async () => {
    const empty = await startTestServer();
    try {
      expect((await cli(["acquire"], { address: empty.address })).code).toBe(3);
    } finally {
      await empty.close();
    }
  });

  it("a full pool exits 4, after printing the keys that were added", async () => {
    const small = await startTestServer({ maxKeys: 2_500 });
    try {
      const run = await cli(["generate", "-n", "3000", "--json"], { address: small.address });
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/RESOURCE_EXHAUSTED/);
      expect(JSON.parse(run.stdout).keys).toHaveLength(2_000); // two whole calls of 1000; the third was refused
    } finally {
      await small.close();
    }
  });

  it("a refused token exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keypool-cli-auth-"));
    const file = join(dir, "auth.json");
    writeFileSync(file, JSON.stringify({ tokens: [{ name: "ops", role: "admin", sha256: hashToken("right-token") }] }));
    const access = { tokens: new TokenRegistry(file), allowInsecureRemote: false, reflection: "open" } as const;
    const guarded = await startTestServer({ server: { access } });
    try {
      expect((await cli(["stats", "--token", "wrong-token"], { address: guarded.address })).code).toBe(1);
      expect((await cli(["stats"], { address: guarded.address, env: { KEYPOOL_TOKEN: "right-token" } })).code).toBe(0);
    } finally {
      await guarded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("client commands: output", () => {
  it("generate prints a table, or one JSON document with ISO timestamps", async () => {
    const table = await cli(["generate", "-n", "2"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^KEY\s+EXPIRES AT$/);
    expect(lines.slice(1)).toHaveLength(2);
    for (const line of lines.slice(1)) expect(line).toMatch(/^kp_[A-Za-z0-9_-]{24}  \d{4}-\d\d-\d\dT/);
    const json = JSON.parse((await cli(["generate", "--json"])).stdout);
    expect(json).toEqual({
      keys: [{ key: expect.stringMatching(/^kp_/), pool: "default", state: "free", leaseId: null, blockedUntil: null, expiresAt: new Date(t.clock.now() + 300_000).toISOString(), createdAt: new Date(t.clock.now()).toISOString(), fencingToken: 0, acquiredAt: null, cooldownUntil: null }],
    });
  });

  it("generate over 1000 keys is split into calls of 1000, with a progress bar on a terminal", async () => {
    const run = await cli(["generate", "-n", "2500", "--json"], { tty: true });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).keys).toHaveLength(2500);
    expect(run.stderr).toContain("1000/2500 keys");
    expect(run.stderr).toContain("2000/2500 keys");
    expect(run.stderr).toMatch(/\r\[#{30}\] 2500\/2500 keys\n$/);
    expect((await cli(["generate", "-n", "1500"])).stderr).toBe(""); // not a terminal: no bar
  });

  it("acquire, get, release, delete, keepalive and stats print the documented --json shapes", async () => {
    const key = await freshKey();
    const keyShape = { key: expect.any(String), pool: "default", state: expect.any(String), leaseId: expect.anything(), blockedUntil: expect.anything(), expiresAt: expect.any(String), createdAt: expect.any(String), fencingToken: expect.any(Number), acquiredAt: expect.anything(), cooldownUntil: null };
    const leased = JSON.parse((await cli(["acquire", "--json"])).stdout);
    expect(leased).toEqual({ ...keyShape, state: "blocked", leaseId: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/) });
    expect(JSON.parse((await cli(["get", leased.key, "--json"])).stdout)).toEqual(leased);
    const released = JSON.parse((await cli(["release", leased.key, "--lease", leased.leaseId, "--json"])).stdout);
    expect(released).toMatchObject({ key: leased.key, state: "free", leaseId: null, blockedUntil: null });
    expect(JSON.parse((await cli(["keepalive", key, UNKNOWN_KEY, "--json"])).stdout)).toEqual({
      results: [{ key, found: true, expiresAt: expect.any(String) }, { key: UNKNOWN_KEY, found: false, expiresAt: null }],
    });
    expect(JSON.parse((await cli(["delete", key, "--json"])).stdout)).toEqual({ key, deleted: true });
    expect(JSON.parse((await cli(["stats", "--json"])).stdout)).toEqual({
      total: expect.any(Number), free: expect.any(Number), blocked: expect.any(Number), cooling: 0, maxKeys: 100_000, blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxCooldownMs: 3_600_000,
    });
  });

  it("human output: a key table, stats fields, and delete never prints the whole key", async () => {
    const key = await freshKey();
    const got = await cli(["get", key]);
    expect(got.stdout).toMatch(/^KEY\s+STATE\s+LEASE ID\s+BLOCKED UNTIL\s+COOLDOWN UNTIL\s+EXPIRES AT\n/);
    expect(got.stdout).toContain(`${key}  free`);
    expect((await cli(["stats"])).stdout).toMatch(/keepalive TTL\s+5m\n/);
    const deleted = await cli(["delete", key]);
    expect(deleted.stdout).toBe(`deleted ${key.slice(0, 7)}…\n`);
  });
});

describe("keypool keepalive --hold", () => {
  it("keeps keys alive over one stream until interrupted; reports a lost key shortened; exit 3", async () => {
    const [a, b] = (await t.client.generateKeys({ count: 2 })).keys.map((k) => k.key);
    const scheduler = new ManualScheduler(t.clock);
    const stop = new AbortController();
    const streamsBefore = t.server.streams.size;
    const running = start(["keepalive", "--hold", a!, b!], { signal: stop.signal, clientOptions: { scheduler } });
    const expiresAt = async (key: string): Promise<number> => Number((await t.client.getKey({ key })).key!.expiresAt!.seconds) * 1000;
    await eventually(() => running.stderr().includes("Ctrl-C to stop"), "the hold to start");
    for (let i = 0; i < 9; i++) {
      scheduler.advance(100_000); // a third of the 5 min TTL: one keepalive of both keys
      let renewed = false;
      for (let tries = 0; tries < 500 && !renewed; tries++) {
        renewed = (await expiresAt(a!)) === t.clock.now() + 300_000;
        if (!renewed) await new Promise((r) => setTimeout(r, 10));
      }
      expect(renewed).toBe(true);
    }
    expect(t.server.streams.size).toBe(streamsBefore + 1);
    await t.client.deleteKey({ key: b! });
    scheduler.advance(100_000);
    await eventually(() => running.stderr().includes("lost"), "the lost key to be reported");
    stop.abort();
    const run = await running.done;
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("keeping 2 key(s) alive over one stream, every 100s; Ctrl-C to stop");
    expect(run.stderr).not.toContain(b!);
    expect(run.stdout).toMatch(new RegExp(`${a}\\s+held\\n`));
    expect(run.stdout).toMatch(new RegExp(`${b}\\s+lost: not-found\\n`));
  });

  it("stops by itself when every key is lost, with one JSON document", async () => {
    const run = await cli(["keepalive", "--hold", UNKNOWN_KEY, "--json"]);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout)).toEqual({ keys: [{ key: UNKNOWN_KEY, held: false, lost: "not-found" }] });
    expect(run.stderr).toContain("lost kp_AAAA…: not-found");
  });
});

describe("keypool keepalive --hold as a process", () => {
  it("holds until SIGINT, then prints the keys held and exits 0", async () => {
    const key = await freshKey();
    const { child, output, done } = spawnCli(["keepalive", "--hold", key, "--addr", t.address]);
    await eventually(() => output.stderr.includes("Ctrl-C to stop") || child.exitCode !== null, "the hold to start", { limitMs: 20_000 });
    child.kill("SIGINT");
    const { code, stdout, stderr } = await done;
    expect([code, stderr]).toEqual([0, "keeping 1 key(s) alive over one stream, every 100s; Ctrl-C to stop\n"]);
    expect(stdout).toMatch(new RegExp(`^KEY\\s+STATUS\n${key}\\s+held\n$`));
  });
});

describe("help", () => {
  it("keypool --help lists every command, the common flags and the exit codes", () => {
    const help = helpOf(undefined)!;
    for (const command of ["serve", ...CLIENT_COMMANDS.map((c) => c.name)]) expect(help).toMatch(new RegExp(`^  ${command} `, "m"));
    for (const flag of Object.keys(COMMON_FLAGS)) expect(help).toContain(`--${flag}`);
    for (const code of ["0  ok", "2  usage", "3  not found", "4  failed precondition", "5  unavailable", "1  any other"]) expect(help).toContain(code);
  });

  it("each command's --help gives its usage, every flag, the JSON shape and the exit codes", async () => {
    for (const command of CLIENT_COMMANDS) {
      const run = await cli([command.name, "--help"], { address: "127.0.0.1:1" });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: keypool ${command.name}`));
      for (const flag of [...Object.keys(command.flags), ...Object.keys(COMMON_FLAGS)]) expect(run.stdout).toContain(`--${flag}`);
      expect(run.stdout).toContain("With --json:");
      expect(run.stdout).toContain("Exit codes:");
      expect(run.stdout).toBe(helpOf(command.name));
    }
  });

  it("works as a process: keypool --help, help <command>, an unknown command, a real exit code", async () => {
    const help = await processRun(["--help"]);
    expect([help.code, help.stdout]).toEqual([0, helpOf(undefined)]);
    expect((await processRun(["help", "release"])).stdout).toBe(helpOf("release"));
    const unknown = await processRun(["frobnicate"]);
    expect([unknown.code, unknown.stderr]).toEqual([2, 'keypool: unknown command "frobnicate"; try: keypool --help\n']);
    const missing = await processRun(["get", UNKNOWN_KEY], { KEYPOOL_ADDR: t.address });
    expect(missing.code).toBe(3);
    const generated = await processRun(["generate", "-n", "2", "--json", "--addr", t.address]);
    expect([generated.code, JSON.parse(generated.stdout).keys.length]).toEqual([0, 2]);
    // Five CLI processes in a row, each compiling the CLI with tsx at start: 20 s alone on a busy
    // machine, past the default 30 s once at load 34. Their time is not what this test checks.
  }, 120_000);
});
