import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const WHOLE_KEY = /kp_[A-Za-z0-9_-]{24}/;

/** A keypool server in a child process, and what its log said. */
export interface SoakServer {
  readonly address: string;
  /** The server's process id (to read its memory). */
  readonly pid: number;
  /** Log lines written so far, and their bytes. */
  readonly log: { lines: number; bytes: number };
  /** Log lines at error level or above (pino level >= 50), without their details. */
  readonly errors: string[];
  /** Log lines that carried a whole key (never allowed). */
  keyLeaks: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code (or the signal). */
  stop(): Promise<number | string>;
  /** The last 2,000 characters the server wrote to stderr (why it died, if it did). */
  stderrTail(): string;
  /** SIGKILL at once (the soak itself is being killed). */
  kill(): void;
}

/**
 * Starts `keypool serve` on 127.0.0.1 and a free port with short TTLs, in a child process run
 * with tsx; resolves once its start-up log line names the port. Watches every log line.
 */
export async function startSoakServer(
  options: { blockTtl: string; keepaliveTtl: string; maxKeys: number; extraArgs?: readonly string[]; nodeArgs?: readonly string[] },
): Promise<SoakServer> {
  const args = [
    ...(options.nodeArgs ?? []), "--import", "tsx", MAIN, "serve", "--host", "127.0.0.1", "--port", "0", "--block-ttl", options.blockTtl,
    "--keepalive-ttl", options.keepaliveTtl, "--max-keys", String(options.maxKeys), "--log-level", "info", ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const errors: string[] = [];
  const log = { lines: 0, bytes: 0 };
  let stderr = "";
  const server: SoakServer = {
    address: "", pid: child.pid!, log, errors, keyLeaks: 0, stop: () => stop(child), kill: () => child.kill("SIGKILL"), stderrTail: () => stderr,
  };
  child.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2_000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 30 s: ${stderr}`)), 30_000);
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log.lines++;
      log.bytes += line.length + 1;
      if (WHOLE_KEY.test(line)) server.keyLeaks++;
      let entry: { level?: number; port?: number; msg?: string; method?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if ((entry.level ?? 0) >= 50) errors.push(`${entry.msg ?? "?"} (${entry.method ?? "no method"})`);
      if (typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
  return Object.assign(server, { address: `127.0.0.1:${port}` });
}

async function stop(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode!;
  const exited = once(child, "exit") as Promise<[number | null, string | null]>;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  const [code, signal] = await exited;
  clearTimeout(killer);
  return code ?? signal ?? "unknown";
}
