import { dirname } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runWorker } from "../../examples/worker.js";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { eventually } from "../support/eventually.js";
import { runProcess } from "../support/doc-blocks.js";

const WORKER = new URL("../../examples/worker.ts", import.meta.url).pathname;

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(() => t.close());

describe("examples/worker.ts", () => {
  it("leases a key per job, works while it is held, and releases it", async () => {
    await t.client.generateKeys({ count: 2 });
    const states: string[] = [];
    const lines: string[] = [];
    const finished = await runWorker({
      address: t.address,
      jobs: 5,
      log: (line) => lines.push(line),
      work: async (key) => {
        const { key: info } = await t.client.getKey({ key });
        states.push(KeyState[info!.state]);
      },
    });
    expect(finished).toBe(5);
    expect(states).toEqual(Array(5).fill("BLOCKED"));
    expect((await t.client.getPoolStats({})).blocked).toBe(0n);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^job \d: done with kp_.{4}…$/);
  });

  it("waits for a key when none is free", async () => {
    const running = runWorker({ address: t.address, jobs: 1, log: () => {}, work: async () => {} });
    await eventually(() => t.server.waiters.size === 1, "the worker to wait");
    await t.client.generateKeys({ count: 1 });
    expect(await running).toBe(1);
  });

  it("runs as a script with KEYPOOL_ADDR, JOBS and WORK_MS", async () => {
    await t.client.generateKeys({ count: 1 });
    const place = { cwd: process.cwd(), binDir: dirname(process.execPath), env: { KEYPOOL_ADDR: t.address, JOBS: "2", WORK_MS: "10" } };
    const { code, stdout, stderr } = await runProcess(process.execPath, ["--import", "tsx", WORKER], place);
    expect([code, stdout]).toEqual([0, "2 jobs done\n"]);
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^job 1: done with kp_/), expect.stringMatching(/^job 2: done with kp_/)]);
  });
});
