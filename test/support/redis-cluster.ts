import { spawn } from "node:child_process";
import { RedisServer, freePort, pollUntil } from "./redis-server.js";

/** How long forming the cluster or a failover may take on a loaded 2-core machine. */
const SETTLE_MS = 30_000;

/** One node as `CLUSTER NODES` describes it. */
export interface ClusterNodeInfo {
  readonly id: string;
  readonly address: string;
  readonly role: "master" | "replica";
  /** The master's node id, for a replica. */
  readonly masterId: string | undefined;
  /** Whether some node flags it failing (`fail` or `fail?`). */
  readonly failing: boolean;
  /** Slot ranges served, e.g. ["0-5460"] (masters only). */
  readonly slots: readonly string[];
}

/** Settings of a test cluster. */
export interface ClusterRigOptions {
  /** Masters (default 3). */
  readonly masters?: number;
  /** Replicas per master (default 1). */
  readonly replicas?: number;
  /** `cluster-node-timeout`: how soon a dead master is failed over (default 2000 ms). */
  readonly nodeTimeoutMs?: number;
  /** More `redis-server` arguments for every node (e.g. `--min-replicas-to-write 1`). */
  readonly nodeArgs?: readonly string[];
}

/**
 * A real Redis Cluster on loopback for tests: masters x (1 + replicas) `redis-server
 * --cluster-enabled yes` processes on free ports (client and bus port both picked), each in its
 * own temp dir, joined by `redis-cli --cluster create --cluster-replicas R --cluster-yes`.
 * `start` resolves once every node says `cluster_state:ok`, knows every other node, and every
 * replica's link to its master is up. `dispose` kills every process and removes the dirs; call
 * it in teardown whatever happened.
 */
export class RedisClusterRig {

  private constructor(
    /** Every node, masters first as created (roles change with failovers: ask `nodesInfo`). */
    readonly nodes: readonly RedisServer[],
  ) {}

  /** Starts and joins the cluster; on any failure everything started is disposed. */
  static async start(options: ClusterRigOptions = {}): Promise<RedisClusterRig> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 1;
    const timeout = options.nodeTimeoutMs ?? 2_000;
    const started = await Promise.allSettled(
      Array.from({ length: masters * (1 + replicas) }, async () => {
        const args = [
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(await freePort()),
          "--cluster-node-timeout", String(timeout), "--cluster-require-full-coverage", "yes",
          // A replica never refuses to fail over for having lost touch too long (slow test boxes).
          "--cluster-replica-validity-factor", "0",
          // A lone master learns no address from peers; CLUSTER SLOTS must still name one.
          "--cluster-announce-ip", "127.0.0.1",
          ...(options.nodeArgs ?? []),
        ];
        return RedisServer.start({ args });
      }),
    );
    const nodes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const rig = new RedisClusterRig(nodes);
    try {
      const failed = started.find((s) => s.status === "rejected");
      if (failed) throw failed.reason;
      if (masters >= 3) {
        await runRedisCli(["--cluster", "create", ...nodes.map((n) => n.address), "--cluster-replicas", String(replicas), "--cluster-yes"]);
      } else {
        await rig.formSmall(masters);
      }
      await rig.settled(masters);
      return rig;
    } catch (err) {
      await rig.dispose();
      throw err;
    }
  }

  /** Seed addresses for a client: `host:port,host:port,...` (the `--redis-cluster` form). */
  get seeds(): string {
    return this.nodes.map((n) => n.address).join(",");
  }


  /** The cluster as `node` (default: the first running node) sees it. */
  async nodesInfo(node = this.nodes.find((n) => n.running)!): Promise<ClusterNodeInfo[]> {
    const text = String(await node.admin().call("CLUSTER", "NODES"));
    return text.trim().split("\n").map(parseNodeLine);
  }

  /** The running node at `address`. */
  node(address: string): RedisServer {
    const found = this.nodes.find((n) => n.address === address);
    if (!found) throw new Error(`no node at ${address}`);
    return found;
  }

  /** The master that serves `slot` now. */
  async masterOf(slot: number): Promise<ClusterNodeInfo> {
    const nodes = await this.nodesInfo();
    const owner = nodes.find((n) => n.role === "master" && !n.failing && n.slots.some((r) => inRange(slot, r)));
    if (!owner) throw new Error(`no healthy master serves slot ${slot}`);
    return owner;
  }

  /**
   * Kills (SIGKILL) the master serving `slot` and waits until its replica took over and every
   * running node says `cluster_state:ok`; returns the killed node (restart it with `start()`: it
   * rejoins as a replica of the new master).
   */
  async killMasterOf(slot: number): Promise<RedisServer> {
    const master = await this.masterOf(slot);
    const victim = this.node(master.address);
    await victim.stop();
    await pollUntil(
      async () => {
        const owner = await this.masterOf(slot).catch(() => undefined);
        return owner !== undefined && owner.id !== master.id && (await this.allOk());
      },
      `no replica took over slot ${slot} from ${master.address}`,
      SETTLE_MS,
    );
    return victim;
  }

  /**
   * Moves `slot` (and the keys in it) to the master at `to`, the way `redis-cli --cluster reshard`
   * does: IMPORTING/MIGRATING, MIGRATE in batches (clients meanwhile get ASK and TRYAGAIN), then
   * SETSLOT NODE on every master. Returns once every node agrees. `pace` slows the middle part
   * down (keys per MIGRATE, default 10; a pause after each, default none), so a load runs into it.
   */
  async migrateSlot(slot: number, to: string, pace: { readonly batch?: number; readonly pauseMs?: number } = {}): Promise<void> {
    const source = await this.masterOf(slot);
    const target = (await this.nodesInfo()).find((n) => n.address === to && n.role === "master");
    if (!target || target.id === source.id) throw new Error(`${to} is no other master than slot ${slot}'s`);
    const [src, dst] = [this.node(source.address).admin(), this.node(target.address).admin()];
    const [host, port] = to.split(":") as [string, string];
    await dst.call("CLUSTER", "SETSLOT", slot, "IMPORTING", source.id);
    await src.call("CLUSTER", "SETSLOT", slot, "MIGRATING", target.id);
    for (;;) {
      const keys = (await src.call("CLUSTER", "GETKEYSINSLOT", slot, pace.batch ?? 10)) as string[];
      if (keys.length === 0) break;
      await src.call("MIGRATE", host, port, "", 0, 5_000, "REPLACE", "KEYS", ...keys);
      if (pace.pauseMs) await new Promise((resolve) => setTimeout(resolve, pace.pauseMs));
    }
    await this.node(target.address).admin().call("CLUSTER", "SETSLOT", slot, "NODE", target.id);
    await this.node(source.address).admin().call("CLUSTER", "SETSLOT", slot, "NODE", target.id);
    // The other masters as one node sees them: a master killed and restarted just before may still
    // be listed as one while it already turned replica ("use SETSLOT only with masters"); a
    // replica learns the owner from its master, so only a refusal for that reason is passed over.
    const masters = (await this.nodesInfo()).filter((n) => n.role === "master" && !n.failing);
    for (const m of masters.filter((n) => n.id !== target.id && n.id !== source.id)) {
      await this.node(m.address).admin().call("CLUSTER", "SETSLOT", slot, "NODE", target.id).catch((err: Error) => {
        if (!/only with masters/.test(err.message)) throw err;
      });
    }
    await pollUntil(async () => (await this.everyNodeAgrees(slot, target.id)) && (await this.allOk()), `slot ${slot} did not settle on ${to}`, SETTLE_MS);
  }

  /** Kills every node and removes their dirs. Idempotent. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }

  /** Whether every running node says `cluster_state:ok`. */
  async allOk(): Promise<boolean> {
    const states = await Promise.all(
      this.nodes.filter((n) => n.running).map((n) => n.admin().call("CLUSTER", "INFO").then(String, () => "")),
    );
    return states.every((s) => s.includes("cluster_state:ok"));
  }

  private async everyNodeAgrees(slot: number, ownerId: string): Promise<boolean> {
    for (const node of this.nodes.filter((n) => n.running)) {
      const nodes = await this.nodesInfo(node).catch(() => []);
      const owner = nodes.find((n) => n.role === "master" && n.slots.some((r) => inRange(slot, r)));
      if (owner?.id !== ownerId) return false;
    }
    return true;
  }

  /**
   * Joins a cluster `redis-cli --cluster create` refuses (fewer than 3 masters) the way it would:
   * equal slot ranges on the first `masters` nodes, CLUSTER MEET, then each other node replicates
   * a master in turn. For benchmarks of 1 and 2 masters.
   */
  private async formSmall(masters: number): Promise<void> {
    const [first, ...rest] = this.nodes;
    for (let i = 0; i < masters; i++) {
      const [lo, hi] = [Math.floor((i * 16_384) / masters), Math.floor(((i + 1) * 16_384) / masters) - 1];
      await this.nodes[i]!.admin().call("CLUSTER", "ADDSLOTSRANGE", lo, hi);
      await this.nodes[i]!.admin().call("CLUSTER", "SET-CONFIG-EPOCH", i + 1);
    }
    const myself = String(await first!.admin().call("CLUSTER", "NODES")).split("\n").find((l) => l.includes("myself"))!;
    const busPort = myself.split(" ")[1]!.split("@")[1]!.split(",")[0]!;
    for (const node of rest) await node.admin().call("CLUSTER", "MEET", "127.0.0.1", first!.port, busPort);
    await pollUntil(async () => (await this.nodesInfo(first)).length === this.nodes.length, "the nodes did not meet", SETTLE_MS);
    const ids = await Promise.all(this.nodes.slice(0, masters).map(async (n) => String(await n.admin().call("CLUSTER", "MYID"))));
    for (const [i, node] of this.nodes.slice(masters).entries()) {
      // A node must know its master before it can replicate it: retried until gossip caught up.
      await pollUntil(
        async () => node.admin().call("CLUSTER", "REPLICATE", ids[i % masters]!).then(() => true, () => false),
        "a replica could not attach",
        SETTLE_MS,
      );
    }
  }

  /** Waits until the freshly created cluster is whole: every node ok, all known, replicas linked. */
  private async settled(masters: number): Promise<void> {
    const whole = async (): Promise<boolean> => {
      for (const node of this.nodes) {
        const info = String(await node.admin().call("CLUSTER", "INFO").catch(() => ""));
        if (!info.includes("cluster_state:ok") || !info.includes(`cluster_known_nodes:${this.nodes.length}`)) return false;
        const seen = await this.nodesInfo(node);
        if (seen.filter((n) => n.role === "master" && n.slots.length > 0).length !== masters || seen.some((n) => n.failing)) return false;
        const replication = String(await node.admin().info("replication").catch(() => ""));
        if (replication.includes("role:slave") && !replication.includes("master_link_status:up")) return false;
      }
      return true;
    };
    await pollUntil(whole, "the cluster did not become whole", SETTLE_MS, () => this.nodes.map((n) => n.logTail(2)).join(" || "));
  }
}

/** Runs `redis-cli` with `args`; rejects with its output when it fails. */
export function runRedisCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("redis-cli", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.slice(0, 2).join(" ")} exited ${code}: ${out.slice(-500)}`))));
  });
}

function parseNodeLine(line: string): ClusterNodeInfo {
  const [id, addr, flags, master, , , , , ...slots] = line.split(" ");
  const flagList = flags!.split(",");
  return {
    id: id!,
    address: addr!.split("@")[0]!,
    role: flagList.includes("master") ? "master" : "replica",
    masterId: master === "-" ? undefined : master,
    failing: flagList.includes("fail") || flagList.includes("fail?"),
    slots: slots.filter((s) => !s.startsWith("[")),
  };
}

function inRange(slot: number, range: string): boolean {
  const [lo, hi] = range.split("-").map(Number) as [number, number | undefined];
  return slot >= lo && slot <= (hi ?? lo);
}
