import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How long a redis-server may take to start or stop before the test fails. */
const BOOT_MS = 10_000;
const POLL_MS = 20;

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
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => (socket.destroy(), resolve(false)));
  });
}

/** Polls `check` until it holds, for at most BOOT_MS; throws `what` otherwise. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + BOOT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`redis-server ${what} within ${BOOT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** How a test Redis keeps its data. */
export interface RedisServerOptions {
  /**
   * Keep an append-only file in the server's dir, fsynced before every reply (`appendfsync
   * always`), so a restart after a kill loads every acknowledged write. Default: no persistence.
   */
  readonly appendonly?: boolean;
}

/**
 * A throwaway `redis-server` from PATH on a loopback port, in its own temp dir, without
 * persistence unless asked. `stop` and `start` again on the same port (and dir) simulate an
 * outage; `dispose` stops it and removes the dir.
 */
export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port and waits until it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), "keypool-redis-")), options);
    await server.start();
    return server;
  }

  /** (Re)starts the process on this server's port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.process) return;
    const persistence = this.options.appendonly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", ...persistence];
    const child = spawn("redis-server", [...args, "--dir", this.dir, "--logfile", ""], { stdio: "ignore" });
    this.process = child;
    // A spawn failure surfaces as the timeout below, with its message.
    child.once("error", () => {});
    child.once("exit", () => {
      if (this.process === child) this.process = undefined;
    });
    await until(() => accepting(this.port), "did not accept connections");
  }

  /** Stops the process (SIGKILL: an outage, not a shutdown) and waits until the port is closed. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    await until(async () => !(await accepting(this.port)), "still accepted connections");
  }

  /** Stops the server and removes its dir. Idempotent. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
