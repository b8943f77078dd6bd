import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli, startCli } from "../client/support/run-cli.js";
import type { CliOptions, CliRun } from "../client/support/run-cli.js";
import { providerKeys } from "../support/provider-keys.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ maxPools: 1_000 });
});
afterAll(() => t.close());

function cli(args: readonly string[], options: Partial<CliOptions> = {}): Promise<CliRun> {
  return startCli(args, { address: t.address, ...options }).done;
}

async function total(pool: string): Promise<number> {
  return Number((await t.client.getPoolStats({ pool })).total);
}

describe("keypool import", () => {
  it("imports stdin's keys, one per line (blank lines, CRLF and surrounding blanks ignored), and reports the count", async () => {
    const keys = providerKeys(3, "basic");
    const run = await cli(["import", "--pool", "basic"], { stdin: `${keys[0]}\r\n\n  ${keys[1]}\t\n${keys[2]}` });
    expect([run.code, run.stdout, run.stderr]).toEqual([0, "imported 3 key(s) into pool basic\n", ""]);
    const json = await cli(["import", "--json"], { stdin: providerKeys(2, "json").join("\n"), env: { KEYPOOL_POOL: "viaenv" } });
    expect(JSON.parse(json.stdout)).toEqual({ pool: "viaenv", imported: 2 });
    expect(await total("basic")).toBe(3);
    expect((await t.client.getKey({ key: keys[1]!, pool: "basic" })).key?.pool).toBe("basic");
  });

  it("sends calls of 1000 with a progress bar on a terminal, and none when stderr is not one", async () => {
    const tty = await cli(["import", "--pool", "bar"], { stdin: providerKeys(2_500, "bar").join("\n"), tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain("1000/2500 keys");
    expect(tty.stderr).toMatch(/\r\[#{30}\] 2500\/2500 keys\n$/);
    const piped = await cli(["import", "--pool", "bar2"], { stdin: providerKeys(1_500, "bar2").join("\n") });
    expect([piped.code, piped.stderr]).toEqual([0, ""]);
    expect(await total("bar2")).toBe(1_500);
  });

  it("checks every line first: a malformed or repeated key exits 2 naming its line, and nothing is imported", async () => {
    const [a, b] = providerKeys(2, "check");
    const malformed = await cli(["import", "--pool", "check"], { stdin: `${a}\n\nshort\n${b}\n` });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^keypool import: line 3 is malformed \(got 5 characters\): a key is 8 to 512 characters/);
    const repeated = await cli(["import", "--pool", "check"], { stdin: `${a}\n${b}\n${a}\n` });
    expect(repeated.code).toBe(2);
    expect(repeated.stderr).toMatch(/^keypool import: line 3 repeats line 1/);
    for (const run of [malformed, repeated]) expect(run.stderr).not.toContain(a!);
    expect(await total("check")).toBe(0);
  });

  it("a key already in the pool exits 4 naming its line; the calls before it went in, nothing from it on", async () => {
    const keys = providerKeys(2_500, "dup");
    await t.client.importKeys({ keys: [keys[1_499]!], pool: "dup" });
    const run = await cli(["import", "--pool", "dup", "--json"], { stdin: keys.join("\n") });
    expect(run.code).toBe(4);
    const error = JSON.parse(run.stderr).error;
    expect(error).toMatchObject({ command: "import", code: "ALREADY_EXISTS", exitCode: 4 });
    expect(error.message).toMatch(/line 1500 is already in this pool/);
    expect(error.message).toContain("1000 key(s) before line 1001 were imported, none from there on");
    expect(run.stderr).not.toContain(keys[1_499]!);
    expect(await total("dup")).toBe(1_001);
  });

  it("refuses a terminal on stdin and an empty input, exit 2", async () => {
    expect(await cli(["import"])).toMatchObject({ code: 2, stderr: expect.stringContaining("keypool import < keys.txt") });
    expect(await cli(["import"], { stdin: "\n\n" })).toMatchObject({ code: 2, stderr: expect.stringContaining("stdin held no keys") });
  });

  it("works as a process with a file piped in: no progress bar, one line of report", async () => {
    const { code, stdout, stderr } = await spawnCli(["import", "--pool", "piped", "--addr", t.address], {}, `${providerKeys(1_200, "piped").join("\n")}\n`).done;
    expect([code, stdout, stderr]).toEqual([0, "imported 1200 key(s) into pool piped\n", ""]);
  }, 60_000);
});

describe("keypool list, release --cooldown and --pool", () => {
  it("release --cooldown parks a key: cooling in get, list --state cooling and stats; acquire passes it over", async () => {
    const keys = providerKeys(3, "cool");
    await t.client.importKeys({ keys, pool: "cool" });
    const leased = JSON.parse((await cli(["acquire", "--pool", "cool", "--json"])).stdout);
    expect(leased.pool).toBe("cool");
    const released = await cli(["release", leased.key, "--pool", "cool", "--lease", leased.leaseId, "--cooldown", "30s", "--json"]);
    expect(JSON.parse(released.stdout)).toMatchObject({ key: leased.key, pool: "cool", state: "cooling", leaseId: null, cooldownUntil: new Date(t.clock.now() + 30_000).toISOString() });
    const table = await cli(["list", "--pool", "cool", "--state", "cooling"]);
    expect(table.stdout).toMatch(/^KEY\s+STATE\s+LEASE ID\s+BLOCKED UNTIL\s+COOLDOWN UNTIL\s+EXPIRES AT\n/);
    expect(table.stdout.trimEnd().split("\n").slice(1)).toEqual([expect.stringMatching(new RegExp(`^${leased.key}\\s+cooling\\s+-\\s+-\\s+${new Date(t.clock.now() + 30_000).toISOString()}`))]);
    expect(JSON.parse((await cli(["stats", "--pool", "cool", "--json"])).stdout)).toMatchObject({ total: 3, free: 2, blocked: 0, cooling: 1, maxCooldownMs: 3_600_000 });
    for (let i = 0; i < 2; i++) expect(JSON.parse((await cli(["acquire", "--pool", "cool", "--json"])).stdout).key).not.toBe(leased.key);
    expect((await cli(["acquire", "--pool", "cool"])).code).toBe(3);
    expect((await cli(["release", leased.key, "--pool", "cool", "--cooldown", "2h"])).code).toBe(2); // past --max-cooldown
  });

  it("list follows every page: each key once, as a table or one JSON document; filters by state", async () => {
    const keys = providerKeys(250, "list");
    await t.client.importKeys({ keys: keys.slice(0, 200), pool: "list" });
    await t.client.importKeys({ keys: keys.slice(200), pool: "list" });
    const json = JSON.parse((await cli(["list", "--pool", "list", "--page-size", "7", "--json"])).stdout);
    expect(json.keys.map((k: { key: string }) => k.key).sort()).toEqual([...keys].sort());
    const rows = (await cli(["list", "--pool", "list"])).stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(251);
    expect(JSON.parse((await cli(["list", "--pool", "list", "--state", "blocked", "--json"])).stdout)).toEqual({ keys: [] });
    expect((await cli(["list", "--pool", "nobody"])).stdout).toMatch(/^KEY\s+STATE.*\n$/);
  });

  it("--pool works on generate, get, keepalive, delete and stats; a bad pool or state is a usage error", async () => {
    const made = JSON.parse((await cli(["generate", "-n", "2", "--pool", "gen", "--json"])).stdout).keys;
    expect(made.map((k: { pool: string }) => k.pool)).toEqual(["gen", "gen"]);
    expect((await cli(["get", made[0].key])).code).toBe(3); // not in the default pool
    expect(JSON.parse((await cli(["get", made[0].key, "--pool", "gen", "--json"])).stdout).pool).toBe("gen");
    expect(JSON.parse((await cli(["keepalive", made[0].key, "--pool", "gen", "--json"])).stdout).results[0].found).toBe(true);
    expect((await cli(["delete", made[1].key, "--pool", "gen"])).code).toBe(0);
    expect(JSON.parse((await cli(["stats", "--json"], { env: { KEYPOOL_POOL: "gen" } })).stdout).total).toBe(1);
    const bad = await cli(["stats", "--pool", "Not/A/Pool"]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/^keypool stats: invalid --pool: pool name of 10 characters is invalid at character 1 \("N"\): use 1 to 64 characters of \[a-z0-9_.-\]/)]);
    const state = await cli(["list", "--state", "hot"]);
    expect([state.code, state.stderr]).toEqual([2, expect.stringContaining('invalid --state "hot": expected one of free, blocked, cooling')]);
    expect((await cli(["list", "--page-size", "1001"])).code).toBe(2);
  });
});
