import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { DataDirFixture, makeTempDir } from "../support/durable-dirs.js";

const CHILD = fileURLToPath(new URL("../support/durable-lock-child.ts", import.meta.url));

/** `unshare --pid --fork` gives the child a PID namespace of its own (pid 1 there), as a container would. */
const NAMESPACES = spawnSync("unshare", ["--pid", "--fork", "true"]).status === 0;
if (!NAMESPACES) console.warn("durable-lock.test: unshare --pid --fork is not available here; the second keypool runs as a plain child process");

interface Keypool {
  /** The child's one line: opened, or refused with the message. */
  readonly said: Promise<{ opened?: true; pid?: number; refused?: string }>;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  kill(signal: NodeJS.Signals): void;
  /** Closes its stdin: the child closes its store and exits. */
  stop(): void;
}

/** Starts a keypool process on `dir`, in a PID namespace of its own when `isolated` (and possible). */
function startKeypool(dir: string, isolated: boolean): Keypool {
  const node = [process.execPath, "--import", "tsx", CHILD, dir];
  const [cmd, ...args] = isolated && NAMESPACES ? ["unshare", "--pid", "--fork", "--kill-child", ...node] : node;
  const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  const said = new Promise<{ opened?: true; refused?: string }>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))) as { opened?: true; refused?: string });
    });
    child.once("exit", (code) => reject(new Error(`the keypool child exited (${code}) without a word`)));
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  return { said, exited, kill: (signal) => child.kill(signal), stop: () => child.stdin.end() };
}

describe("DurableStore: one data dir, one keypool, whatever the PID namespaces", () => {
  let fx: DataDirFixture;
  const started: Keypool[] = [];
  beforeEach(async () => {
    fx = new DataDirFixture(await makeTempDir("lock"));
  });
  afterEach(async () => {
    for (const k of started.splice(0)) k.kill("SIGKILL");
    await fx.dispose();
  });

  test("a second keypool in another PID namespace is refused while the first lives; SIGKILL frees the dir", async () => {
    const first = startKeypool(fx.dir, false);
    started.push(first);
    expect(await first.said).toMatchObject({ opened: true });

    // A pid file would call this a stale lock: pid `first.pid` does not exist in the new namespace.
    const second = startKeypool(fx.dir, true);
    started.push(second);
    const refusal = (await second.said).refused;
    expect(refusal).toContain(fx.dir);
    expect(refusal).toMatch(/is in use by another keypool/);
    expect(await second.exited).toBe(3);
    // Nor can this process take it, and a plain pid in the file changes nothing.
    await writeFile(join(fx.dir, "keypool.lock"), "999999\n");
    await expect(fx.reopen()).rejects.toThrow(/is in use by another keypool/);

    first.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const third = startKeypool(fx.dir, true);
    started.push(third);
    expect(await third.said).toMatchObject({ opened: true });
    third.stop();
    expect(await third.exited).toBe(0);
    await (await fx.reopen()).close();
  }, 60_000);

  test("two keypools that are both pid 1 in their namespaces still exclude each other", async () => {
    const first = startKeypool(fx.dir, true);
    started.push(first);
    expect(await first.said).toMatchObject({ opened: true });
    const second = startKeypool(fx.dir, true);
    started.push(second);
    expect((await second.said).refused).toMatch(/is in use by another keypool/);
    // The loser leaves the winner's lock alone: the winner still holds the dir.
    await expect(fx.reopen()).rejects.toThrow(/is in use by another keypool/);
  }, 60_000);
});
