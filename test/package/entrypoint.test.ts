import { readFileSync, statSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { healthClient } from "../support/health-client.js";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";
import type { KeypoolProcess } from "../support/serve-process.js";

afterEach(killAll);

const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];
const NPM_START = ["npm", "start", "--"];

/** The pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits for the start-up line, then for health to say SERVING; returns the port and how long that took from spawn. */
async function serving(p: KeypoolProcess, spawnedAt: number): Promise<{ port: number; ms: number }> {
  const { port } = await logLine(p.child, (line) => typeof line.port === "number");
  const health = healthClient(`127.0.0.1:${port as number}`);
  try {
    for (let tries = 0; (await health.check("", 1_000).catch(() => "")) !== "SERVING"; tries++) {
      if (tries === 200) throw new Error("health never said SERVING");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    health.close();
  }
  return { port: port as number, ms: Date.now() - spawnedAt };
}

describe("the production start: the built server, nothing compiled at start", () => {
  it("npm start serves (health SERVING) and SIGTERM to npm drains the server: both exit 0 within 5 s, nothing left behind", async () => {
    const spawnedAt = Date.now();
    const npm = spawnKeypool(LOOPBACK, { command: NPM_START });
    const { ms } = await serving(npm, spawnedAt);
    console.log(`npm start: SERVING ${ms} ms after spawn`);
    const [server] = childrenOf(npm.child.pid!); // `exec node`: npm's child is the server itself, no shell between
    expect(readFileSync(`/proc/${server}/cmdline`, "utf8").split("\0")).toEqual(expect.arrayContaining(["dist/src/cli/main.js", "serve"]));
    const stopped = logLine(npm.child, (line) => line.msg === "stopped");
    const signalledAt = Date.now();
    npm.child.kill("SIGTERM");
    await stopped;
    expect(await npm.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    expect(alive(server!)).toBe(false);
  });

  it("node dist/src/cli/main.js serve reaches SERVING and exits 0 on SIGTERM", async () => {
    const spawnedAt = Date.now();
    const built = statSync("dist/src/cli/main.js").mtimeMs;
    const p = spawnKeypool(["serve", ...LOOPBACK], { command: [process.execPath, "dist/src/cli/main.js"] });
    const { ms } = await serving(p, spawnedAt);
    // How fast is a figure (about a second on a quiet machine), not a pass mark: a busy machine
    // stretches it. What the test proves is that starting compiles nothing.
    console.log(`node dist/src/cli/main.js serve: SERVING ${ms} ms after spawn`);
    expect(statSync("dist/src/cli/main.js").mtimeMs).toBe(built);
    const signalledAt = Date.now();
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
  });

  it("Ctrl-C on npm start (SIGINT to the whole process group) drains once and exits 0", async () => {
    const npm = spawnKeypool(LOOPBACK, { command: NPM_START, detached: true });
    await serving(npm, Date.now());
    const stopped = logLine(npm.child, (line) => line.msg === "stopped");
    process.kill(-npm.child.pid!, "SIGINT"); // what a terminal does: npm and the server both get it, and npm forwards its copy
    expect((await stopped).msg).toBe("stopped");
    expect(await npm.exited).toBe(0);
  });

  it("npm start as PID 1 of its own PID namespace (a container's npm) drains on SIGTERM and exits 0", async () => {
    const unshare = spawnKeypool(LOOPBACK, { command: ["unshare", "--pid", "--fork", "--kill-child", ...NPM_START] });
    await serving(unshare, Date.now());
    const [npm] = childrenOf(unshare.child.pid!);
    expect(readFileSync(`/proc/${npm}/status`, "utf8")).toMatch(/^NSpid:\s+\d+\s+1$/m);
    const stopped = logLine(unshare.child, (line) => line.msg === "stopped");
    const signalledAt = Date.now();
    process.kill(npm!, "SIGTERM");
    await stopped;
    expect(await unshare.exited).toBe(0); // unshare exits with npm's code
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
  });
});
