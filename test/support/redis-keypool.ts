import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { healthClient } from "./health-client.js";
import type { HealthClient } from "./health-client.js";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
/** How long a server process may take to print its start-up line. */
const START_MS = 20_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any


/** What a keypool server on Redis is started with. */
export interface KeypoolOptions {
  readonly redisUrl: string;
  readonly pool: string;
  /** Durations as the flags take them ("2s"). */
  readonly blockTtl: string;
  readonly keepaliveTtl: string;
  /** More `keypool serve` flags (e.g. `--redis-update-settings`). */
  readonly extraArgs?: readonly string[];
}

/**
 * A `keypool serve --store redis` process on 127.0.0.1 (port 0, read from its start-up line), as
 * users run it, with a typed client and a health client. Its stdout is drained all along (the
 * server logs every failed call) and its error-level lines kept; `kill` ends it (SIGKILL) and
 * must be called in teardown, whatever the test's outcome.
 */
export class KeypoolProcess {
  /** Log lines at level error or above (pino level >= 50): unexpected failures, never expected. */
  readonly errors: string[] = [];
  /** The store transitions the server logged ("the store cannot serve…", "the store serves again…"), in order. */
  readonly transitions: string[] = [];
  private stderr = "";
  private clients: { client: TypedClient<typeof KeyService>; health: HealthClient } | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4_000)));
  }

  /** Starts a server; resolves once it listens. The caller must `kill` it (even when this rejects, it is killed). */
  static async start(options: KeypoolOptions, track: KeypoolProcess[]): Promise<KeypoolProcess> {
    const args = [
      "--host", "127.0.0.1", "--port", "0", "--store", "redis", "--redis-url", options.redisUrl,
      "--pool", options.pool, "--block-ttl", options.blockTtl, "--keepalive-ttl", options.keepaliveTtl,
      ...(options.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const proc = new KeypoolProcess(child);
    track.push(proc);
    const port = await proc.readPort();
    const address = `127.0.0.1:${port}`;
    proc.clients = { client: createTypedClient(KeyService, address), health: healthClient(address) };
    return proc;
  }

  /** The typed KeyService client of this server. */
  get client(): TypedClient<typeof KeyService> {
    return this.clients!.client;
  }

  /** Whether the process is still running (a crash would end it). */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** grpc.health.v1.Health/Check for the whole server: "SERVING", "NOT_SERVING", or the call's error. */
  health(): Promise<string> {
    return this.clients!.health.check("", 2_000);
  }

  /** Closes the clients and kills the process (SIGKILL); resolves once it exited. Idempotent. */
  async kill(): Promise<void> {
    this.clients?.client.close();
    this.clients?.health.close();
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGKILL");
    await exited;
  }

  /** Reads the start-up line's port, then keeps draining stdout, keeping error lines. */
  private readPort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(`keypool ${why}: ${this.stderr}`));
      };
      const timer = setTimeout(() => fail(`did not start within ${START_MS} ms`), START_MS);
      this.child.once("exit", (code) => fail(`exited with ${code}`));
      createInterface({ input: this.child.stdout! }).on("line", (line) => {
        const entry = parse(line);
        if (entry.port !== undefined) {
          clearTimeout(timer);
          resolve(entry.port as number);
        }
        if (!((entry.level as number) < 50)) this.errors.push(line);
        if (String(entry.msg).startsWith("the store ")) this.transitions.push(String(entry.msg));
      });
    });
  }
}

/**
 * Polls each server's health until it reports `status`, for at most `limitMs` in all (a server
 * reconnects to Redis within about a second). A server listens before its store is connected, so
 * tests wait for SERVING after a start too.
 */
export async function healthOf(servers: readonly KeypoolProcess[], status: "SERVING" | "NOT_SERVING", limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (const server of servers) {
    while ((await server.health().catch((err: Error) => err.message)) !== status) {
      if (Date.now() > deadline) throw new Error(`health did not become ${status} within ${limitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** One JSON log line; anything else is kept as an error line. */
function parse(line: string): Json {
  try {
    return JSON.parse(line) as Json;
  } catch {
    return { level: 60, msg: line };
  }
}
