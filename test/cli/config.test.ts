import { describe, expect, it } from "vitest";
import { ConfigError, parseServeConfig } from "../../src/cli/config.js";
import { formatDuration, parseDuration } from "../../src/cli/duration.js";

interface DurationCase {
  readonly text: string;
  readonly ms: number | undefined;
}

const durations = [
  { text: "60s", ms: 60_000 },
  { text: "5m", ms: 300_000 },
  { text: "1500ms", ms: 1_500 },
  { text: "1h", ms: 3_600_000 },
  { text: "1m30s", ms: 90_000 },
  { text: "0.5s", ms: 500 },
  { text: "60", ms: undefined },
  { text: "-5s", ms: undefined },
  { text: "5 m", ms: undefined },
  { text: "", ms: undefined },
  { text: "5d", ms: undefined },
] satisfies DurationCase[];

describe("durations", () => {
  it.each(durations)("$text -> $ms", ({ text, ms }) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("formats the shortest exact form", () => {
    expect([60_000, 300_000, 1_500, 90_000].map(formatDuration)).toEqual(["1m", "5m", "1500ms", "90s"]);
  });
});

interface ConfigCase {
  readonly name: string;
  readonly argv: string[];
  readonly env?: Record<string, string>;
  readonly error: RegExp;
}

const invalid = [
  { name: "a block TTL that is not a duration", argv: ["--block-ttl", "abc"], error: /invalid --block-ttl "abc": expected a positive duration like 60s/ },
  { name: "a zero keepalive TTL", argv: ["--keepalive-ttl", "0s"], error: /invalid --keepalive-ttl "0s"/ },
  { name: "a port out of range", argv: ["--port", "70000"], error: /invalid --port "70000": expected a whole number from 0 to 65535/ },
  { name: "zero capacity", argv: ["--max-keys", "0"], error: /invalid --max-keys "0"/ },
  { name: "an unknown store", argv: ["--store", "mongo"], error: /invalid --store "mongo"/ },
  { name: "an unknown flag", argv: ["--colour", "red"], error: /--colour/ },
  { name: "a TTL over 365 days", argv: ["--keepalive-ttl", "8761h"], error: /invalid --keepalive-ttl "8761h": expected a positive duration like 60s, 5m or 1500ms, at most 8760h/ },
  { name: "a host that is neither an address nor a name", argv: ["--host", "local host"], error: /invalid --host "local host": expected an IP address/ },
  { name: "a bad value from the environment", argv: [], env: { KEYPOOL_BLOCK_TTL: "forever" }, error: /^invalid KEYPOOL_BLOCK_TTL="forever": expected a positive duration/ },
] satisfies ConfigCase[];

describe("serve configuration", () => {
  it("defaults work on a laptop", () => {
    expect(parseServeConfig([], {})).toMatchObject({
      host: "0.0.0.0", port: 50051, blockTtlMs: 60_000, keepaliveTtlMs: 300_000, maxKeys: 1_000_000, store: "memory",
    });
  });

  it.each(["::", "0.0.0.0", "::1", "127.0.0.1", "localhost", "keypool.internal"])("takes --host %s", (host) => {
    expect(parseServeConfig(["--host", host], {}).host).toBe(host);
  });

  it("flags win over KEYPOOL_* variables, which win over defaults", () => {
    const env = { KEYPOOL_BLOCK_TTL: "90s", KEYPOOL_PORT: "6000" };
    expect(parseServeConfig(["--port", "7000"], env)).toMatchObject({ port: 7000, blockTtlMs: 90_000 });
  });

  it.each(invalid)("rejects $name with a one-line message", ({ argv, env, error }) => {
    let thrown: unknown;
    try {
      parseServeConfig(argv, env ?? {});
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(error);
    expect((thrown as Error).message).not.toContain("\n");
  });
});
