import { RedisServer, pollUntil } from "./redis-server.js";

/** How long a failover may take on a loaded 2-core machine (detection + election + promotion). */
const FAILOVER_MS = 30_000;
/** The name the sentinels monitor the primary under. */
export const MASTER_NAME = "keypool-test";

/** Settings of a sentinel rig. */
export interface SentinelRigOptions {
  /** How long a silent primary takes to be judged down (default 1000 ms). */
  readonly downAfterMs?: number;
  /** `min-replicas-to-write` on both data nodes (default: unset). */
  readonly minReplicasToWrite?: number;
}

/**
 * A primary, one replica and three sentinels (quorum 2) on loopback for tests, each a real
 * `redis-server` on a free port in its own temp dir. `start` resolves once the replica's link
 * is up and every sentinel knows the replica and the other sentinels. `killPrimary` SIGKILLs the
 * primary, waits for the sentinels to promote the replica, and restarts the killed node as a
 * replica of the new primary (so it never comes back as an empty primary); `dispose` kills all.
 */
export class RedisSentinelRig {

  private constructor(
    /** The two data nodes; which one is primary changes with each failover (see `primary`). */
    readonly data: readonly [RedisServer, RedisServer],
    readonly sentinels: readonly RedisServer[],
  ) {}

  /** Starts everything; on a failure everything started is disposed. */
  static async start(options: SentinelRigOptions = {}): Promise<RedisSentinelRig> {
    const started: RedisServer[] = [];
    try {
      // As docs/operations.md advises with --redis-wait-replicas: a primary without a replica
      // refuses writes (NOREPLICAS) instead of running them unreplicated.
      const guard = options.minReplicasToWrite ? ["--min-replicas-to-write", String(options.minReplicasToWrite), "--min-replicas-max-lag", "10"] : [];
      const primary = await RedisServer.start({ args: guard });
      started.push(primary);
      const replica = await RedisServer.start({ args: [...guard, "--replicaof", "127.0.0.1", String(primary.port)] });
      started.push(replica);
      const down = options.downAfterMs ?? 1_000;
      const config = [
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${down}`,
        `sentinel failover-timeout ${MASTER_NAME} ${Math.max(4 * down, 3_000)}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
      ].join("\n");
      const sentinels = await Promise.all([1, 2, 3].map(() => RedisServer.start({ sentinelConfig: config })));
      started.push(...sentinels);
      const rig = new RedisSentinelRig([primary, replica], sentinels);
      await rig.whole(primary);
      return rig;
    } catch (err) {
      await Promise.all(started.map((s) => s.dispose()));
      throw err;
    }
  }

  /** The sentinels' addresses, `host:port,...` (the `--redis-sentinels` form). */
  get sentinelAddresses(): string {
    return this.sentinels.map((s) => s.address).join(",");
  }

  /** The data node the sentinels currently name as primary. */
  async primary(): Promise<RedisServer> {
    const [, port] = (await this.sentinels[0]!.admin().call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as [string, string];
    const node = this.data.find((n) => n.port === Number(port));
    if (!node) throw new Error(`sentinels name an unknown primary on port ${port}`);
    return node;
  }


  /**
   * SIGKILLs the primary, waits until every sentinel names the other node primary and it says
   * `role:master`, then restarts the killed node as its replica and waits for the link. Returns
   * how long clients had no primary (kill to promotion), in ms.
   */
  async killPrimary(): Promise<number> {
    const old = await this.primary();
    const next = this.data.find((n) => n !== old)!;
    const killedAt = Date.now();
    await old.stop();
    await pollUntil(
      async () => {
        const named = await Promise.all(
          this.sentinels.map((s) => s.admin().call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME).then((r) => Number((r as string[])[1]), () => 0)),
        );
        if (!named.every((port) => port === next.port)) return false;
        return String(await next.admin().info("replication").catch(() => "")).includes("role:master");
      },
      `the sentinels did not promote ${next.address}`,
      FAILOVER_MS,
      () => `${next.logTail(3)} || ${this.sentinels[0]!.logTail(3)}`,
    );
    const outage = Date.now() - killedAt;
    await old.start(["--replicaof", "127.0.0.1", String(next.port)]);
    await this.whole(next);
    return outage;
  }

  /** Kills every process and removes their dirs. Idempotent. */
  async dispose(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.data].map((n) => n.dispose()));
  }

  /** Waits until the replica of `primary` is linked and every sentinel knows the replica and its peers. */
  private async whole(primary: RedisServer): Promise<void> {
    const replica = this.data.find((n) => n !== primary)!;
    await pollUntil(
      async () => {
        const info = String(await replica.admin().info("replication").catch(() => ""));
        if (!info.includes("master_link_status:up") || !info.includes(`master_port:${primary.port}`)) return false;
        for (const s of this.sentinels) {
          const master = (await s.admin().call("SENTINEL", "MASTER", MASTER_NAME).catch(() => [])) as string[];
          const field = (name: string): string | undefined => master[master.indexOf(name) + 1];
          if (Number(field("port")) !== primary.port || field("num-slaves") !== "1" || field("num-other-sentinels") !== "2") return false;
          if (field("flags") !== "master") return false;
        }
        return true;
      },
      `the sentinel rig around ${primary.address} did not settle`,
      FAILOVER_MS,
      () => `${replica.logTail(3)} || ${this.sentinels[0]!.logTail(3)}`,
    );
  }
}
