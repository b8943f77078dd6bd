import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free loopback TCP port from the OS. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something accepts TCP connections on loopback `port`. */
export function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => (socket.destroy(), resolve(false)));
  });
}

/** Polls until `port` accepts connections, for at most `ms`. */
export async function waitForPort(port: number, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await accepting(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** True when `command --version` runs. */
export function onPath(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

/** A throwaway external server process (redis-server, etcd) with its own temp dir. */
export class ExternalServer {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** Starts `command` with `args(port, dir)` and waits until it listens on loopback `port`. */
  static async start(command: string, args: (port: number, dir: string) => string[], port?: number): Promise<ExternalServer> {
    const p = port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), `keypool-bench-${command}-`));
    const proc = spawn(command, args(p, dir), { stdio: "ignore" });
    const server = new ExternalServer(proc, dir, p);
    process.once("exit", () => proc.kill("SIGKILL"));
    try {
      await waitForPort(p, 15_000, command);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** The first line `command --version` prints, if it runs. */
  static versionOf(command: string): string | undefined {
    const r = spawnSync(command, ["--version"], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.split("\n")[0]!.trim() : undefined;
  }

  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and removes its dir. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once("exit", resolve));
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A redis-server on loopback without persistence. */
export function startRedis(): Promise<ExternalServer> {
  return ExternalServer.start("redis-server", (port, dir) => [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
  ]);
}
