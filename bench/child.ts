import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A message between the bench orchestrator and one of its child processes. */
export interface Message {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Every child this process started and has not seen exit: killed on exit, whatever happens. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A child process running a bench script under tsx, spoken to over IPC. */
export class BenchChild {
  private readonly inbox: Message[] = [];
  private waiter: ((m: Message | undefined) => void) | undefined;
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(private readonly proc: ChildProcess, readonly name: string) {
    live.add(proc);
    proc.on("error", () => {}); // a send racing the child's exit: the exit handler reports it
    proc.on("message", (m: Message) => this.deliver(m));
    this.exit = new Promise((resolve) =>
      proc.once("exit", () => {
        this.exited = true;
        live.delete(proc);
        this.deliver(undefined);
        resolve();
      }),
    );
  }

  /** The child's process id. */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Sends one message. */
  send(message: Message): void {
    if (!this.exited && this.proc.connected) this.proc.send(message, () => {});
  }

  /** The next message of `type` (others before it are dropped); rejects on exit or timeout. */
  async next(type: string, timeoutMs = 120_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.inbox.shift() ?? (await this.wait(deadline - Date.now()));
      if (m === undefined) throw new Error(`${this.name} (pid ${this.pid}) ended or timed out before sending "${type}"`);
      if (m.type === "error") throw new Error(`${this.name}: ${String(m.message)}`);
      if (m.type === type) return m;
    }
  }

  /** Asks the child to stop, then kills it by pid if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.exited) return;
    this.send({ type: "stop" });
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  private wait(ms: number): Promise<Message | undefined> {
    if (this.exited || ms <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, ms);
      this.waiter = (m) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(m);
      };
    });
  }

  private deliver(m: Message | undefined): void {
    if (this.waiter) this.waiter(m);
    else if (m) this.inbox.push(m);
  }
}

/** Starts `bench/<script>` in its own Node process (tsx loader plus `nodeFlags`). */
export function startChild(script: string, args: readonly string[] = [], nodeFlags: readonly string[] = []): BenchChild {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const proc = fork(path, [...args], {
    execArgv: ["--import", "tsx", ...nodeFlags],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new BenchChild(proc, script);
}

/** Runs a one-shot child: waits for its "result" message, then stops it. */
export async function runChild(script: string, args: readonly string[], nodeFlags: readonly string[] = [], timeoutMs = 300_000): Promise<Message> {
  const child = startChild(script, args, nodeFlags);
  try {
    return await child.next("result", timeoutMs);
  } finally {
    await child.stop();
  }
}

/**
 * The child side: calls `onMessage` for every message from the orchestrator, reports thrown
 * errors as "error" messages, and exits when told to stop or when the orchestrator goes away.
 */
export function serveParent(onMessage: (m: Message) => void | Promise<void>, onStop: () => void | Promise<void> = () => {}): void {
  const stop = async (): Promise<void> => {
    await onStop();
    process.exit(0);
  };
  process.on("disconnect", () => void stop());
  process.on("message", (m: Message) => {
    if (m.type === "stop") return void stop();
    Promise.resolve()
      .then(() => onMessage(m))
      .catch((err: unknown) => reply({ type: "error", message: err instanceof Error ? err.stack ?? err.message : String(err) }));
  });
}

/** Sends a message to the orchestrator (no-op when run by hand). */
export function reply(message: Message): void {
  process.send?.(message);
}
