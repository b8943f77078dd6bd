import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { eventually } from "./eventually.js";

/** How long a redis-server may take to start or stop before the test fails (a loaded 2-core box). */
const BOOT_MS = 15_000;
const POLL_MS = 20;
/** Fresh ports tried when another process took the one picked (port-0 probing races). */
const PORT_ATTEMPTS = 4;

/** True when `redis-server` is on PATH. Checked once per call (spawns `redis-server --version`). */
export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/** A free loopback TCP port, from the OS (port 0), released before it is returned. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something accepts TCP connections on the loopback `port` now. */
export function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Polls `check` every 20 ms until it holds, for at most `limitMs`; throws `what` otherwise, with
 * `detail()` (a log tail) when given. For processes and replication, never for domain time.
 */
export async function pollUntil(check: () => Promise<boolean>, what: string, limitMs = BOOT_MS, detail?: () => string): Promise<void> {
  await eventually(check, what, { limitMs, everyMs: POLL_MS, detail });
}

/** How a test Redis is run. */
export interface RedisServerOptions {
  /**
   * Keep an append-only file in the server's dir, fsynced before every reply (`appendfsync
   * always`), so a restart after a kill loads every acknowledged write. Default: no persistence.
   */
  readonly appendonly?: boolean;
  /** More `--name value` arguments, after the defaults (they win): cluster mode, replicaof, ... */
  readonly args?: readonly string[];
  /** Runs `redis-server <dir>/sentinel.conf --sentinel` with this config body (port and dir added). */
  readonly sentinelConfig?: string;
}

/**
 * A throwaway `redis-server` from PATH on a loopback port, in its own temp dir, without
 * persistence unless asked. `stop` and `start` again on the same port (and dir) simulate an
 * outage; `dispose` stops it and removes the dir. A process that exits while starting fails the
 * start at once with its log's tail (no waiting out the timeout).
 */
export class RedisServer {
  private process: ChildProcess | undefined;
  private adminClient: Redis | undefined;
  /** Arguments a restart adds (a new `--replicaof`), replacing none of the start's. */
  private restartArgs: readonly string[] = [];

  private constructor(
    readonly port: number,
    /** The server's own temp dir (data, nodes.conf, log). */
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.process !== undefined;
  }

  /** Starts a server on a free port and waits until it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), "keypool-redis-")), options);
      try {
        await server.start();
        return server;
      } catch (err) {
        await server.dispose();
        // Another process took the port between the probe and the bind: pick another.
        if (attempt >= PORT_ATTEMPTS || !/Address already in use/.test(String(err))) throw err;
      }
    }
  }

  /**
   * (Re)starts the process on this server's port; resolves once it accepts connections.
   * `extraArgs` are kept for later restarts too (e.g. `--replicaof` after a failover).
   */
  async start(extraArgs?: readonly string[]): Promise<void> {
    if (this.process) return;
    if (extraArgs) this.restartArgs = extraArgs;
    const child = spawn("redis-server", this.argv(), { stdio: "ignore", cwd: this.dir });
    this.process = child;
    let exited = false;
    // A spawn failure surfaces as the exit below.
    child.once("error", () => {});
    child.once("exit", () => {
      exited = true;
      if (this.process === child) this.process = undefined;
    });
    await pollUntil(
      async () => {
        if (exited) throw new Error(`redis-server on port ${this.port} exited while starting: ${this.logTail()}`);
        return accepting(this.port);
      },
      `redis-server on port ${this.port} did not accept connections`,
      BOOT_MS,
      () => this.logTail(),
    );
  }

  /** Stops the process (SIGKILL: an outage, not a shutdown) and waits until the port is closed. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    await pollUntil(async () => !(await accepting(this.port)), `redis-server on port ${this.port} still accepted connections`);
  }

  /**
   * An admin connection to this server, made on first use and kept until `dispose`; it reconnects
   * by itself, and its calls fail after 3 s while the server is down.
   */
  admin(): Redis {
    if (!this.adminClient) {
      this.adminClient = new Redis(this.port, "127.0.0.1", { commandTimeout: 3_000, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      this.adminClient.on("error", () => {});
    }
    return this.adminClient;
  }

  /** Stops the server and removes its dir. Idempotent. */
  async dispose(): Promise<void> {
    this.adminClient?.disconnect();
    this.adminClient = undefined;
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of the server's log, for failure messages. */
  logTail(lines = 8): string {
    const log = join(this.dir, "redis.log");
    if (!existsSync(log)) return "(no log)";
    return readFileSync(log, "utf8").trim().split("\n").slice(-lines).join(" | ");
  }

  private argv(): string[] {
    const common = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--logfile", join(this.dir, "redis.log")];
    if (this.options.sentinelConfig !== undefined) {
      const conf = join(this.dir, "sentinel.conf");
      // Sentinel rewrites its config as it learns: written once, kept across restarts.
      if (!existsSync(conf)) writeFileSync(conf, `${this.options.sentinelConfig}\n`);
      return [conf, "--sentinel", ...common];
    }
    const persistence = this.options.appendonly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    return [...common, "--save", "", ...persistence, ...(this.options.args ?? []), ...this.restartArgs];
  }
}
