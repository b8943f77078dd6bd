import { describe, expect, it } from "vitest";
import { ConfigError, parseServeConfig } from "../../src/cli/config.js";

interface RedisCase {
  readonly name: string;
  readonly argv: string[];
  readonly env?: Record<string, string>;
  readonly error: string;
}

const REDIS = ["--store", "redis"];

const invalid = [
  { name: "cluster flags without --store redis", argv: ["--redis-cluster", "a:1"], error: "--redis-cluster applies to --store redis only" },
  { name: "shards without --store redis", argv: ["--pool-shards", "3"], error: "--pool-shards applies to --store redis only" },
  { name: "wait replicas without --store redis", argv: ["--redis-wait-replicas", "1"], error: "--redis-wait-replicas applies to --store redis only" },
  { name: "cluster and sentinels", argv: [...REDIS, "--redis-cluster", "a:1", "--redis-sentinels", "b:2", "--redis-master-name", "m"], error: "--redis-cluster and --redis-sentinels exclude each other" },
  { name: "sentinels without a master name", argv: [...REDIS, "--redis-sentinels", "b:2"], error: "--redis-sentinels needs --redis-master-name" },
  { name: "a master name without sentinels", argv: [...REDIS, "--redis-master-name", "m"], error: "--redis-master-name needs --redis-sentinels" },
  { name: "a cluster node without a port", argv: [...REDIS, "--redis-cluster", "10.0.0.1:7000,10.0.0.2"], error: 'invalid --redis-cluster entry "10.0.0.2": expected host:port' },
  { name: "a port out of range", argv: [...REDIS, "--redis-cluster", "h:70000"], error: 'invalid --redis-cluster entry "h:70000"' },
  { name: "zero shards", argv: [...REDIS, "--pool-shards", "0"], error: 'invalid --pool-shards "0": expected a whole number from 1 to 1024' },
  { name: "too many replicas", argv: [...REDIS, "--redis-wait-replicas", "17"], error: 'invalid --redis-wait-replicas "17": expected a whole number from 0 to 16' },
  { name: "a wait timeout that is no duration", argv: [...REDIS, "--redis-wait-timeout", "soon"], error: 'invalid --redis-wait-timeout "soon"' },
  { name: "shards from the environment", argv: REDIS, env: { KEYPOOL_POOL_SHARDS: "x" }, error: 'invalid --pool-shards "x"' },
] satisfies RedisCase[];

describe("Redis cluster, sentinel and replication flags", () => {
  it.each(invalid)("refuses $name with a message naming the flag", ({ argv, env, error }) => {
    const parse = (): unknown => parseServeConfig(argv, env ?? {});
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(error);
  });

  it("defaults: one node from --redis-url, one shard, no waiting for replicas", () => {
    expect(parseServeConfig(REDIS, {}).redis).toEqual({
      endpoint: { kind: "node", url: "redis://127.0.0.1:6379/0" },
      shards: 1,
      waitReplicas: undefined,
    });
  });

  it("a cluster with shards and replicated writes, the password taken from --redis-url", () => {
    const argv = [...REDIS, "--redis-url", "redis://:s%40cret@ignored:1", "--redis-cluster", "10.0.0.1:7000, [::1]:7001", "--pool-shards", "3"];
    const env = { KEYPOOL_REDIS_WAIT_REPLICAS: "1", KEYPOOL_REDIS_WAIT_TIMEOUT: "500ms" };
    expect(parseServeConfig(argv, env).redis).toEqual({
      endpoint: { kind: "cluster", nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "::1", port: 7001 }], password: "s@cret" },
      shards: 3,
      waitReplicas: { replicas: 1, timeoutMs: 500 },
    });
  });

  it("sentinels from the environment", () => {
    const env = { KEYPOOL_REDIS_SENTINELS: "s1:26379,s2:26379", KEYPOOL_REDIS_MASTER_NAME: "pool" };
    expect(parseServeConfig(REDIS, env).redis.endpoint).toEqual({
      kind: "sentinel",
      sentinels: [{ host: "s1", port: 26379 }, { host: "s2", port: 26379 }],
      masterName: "pool",
      password: undefined,
    });
  });
});
