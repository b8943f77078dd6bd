import { connect } from "node:http2";
import type { ClientHttp2Session } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { killAll, logLine, spawnKeypool } from "../support/serve-process.js";

const sessions: ClientHttp2Session[] = [];
afterEach(() => {
  for (const session of sessions.splice(0)) session.destroy();
  killAll();
});

const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];

/** Milliseconds from `signal` to the process's exit, and its exit code. */
async function stopWith(p: ReturnType<typeof spawnKeypool>, signal: NodeJS.Signals): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  p.child.kill(signal);
  const code = await p.exited;
  return { code, ms: Date.now() - started };
}

/**
 * A call the server cannot finish: request headers sent, the request body never ends, so
 * shutdown waits for it until its grace period ends. Resolves once the server has the call: a
 * ping sent after the headers comes back (frames on a connection arrive in order).
 */
async function hangingCall(port: number): Promise<void> {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  sessions.push(session);
  await new Promise((resolve) => session.once("connect", resolve));
  const stream = session.request({ ":method": "POST", ":path": "/keypool.v1.KeyService/GetPoolStats", "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => {});
  await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
}

describe("keypool serve: shutdown always ends", () => {
  it("exits 0 within 5 s of SIGTERM when the log reader has gone away (broken pipe)", async () => {
    const p = spawnKeypool(["serve", ...LOOPBACK]);
    const { port } = await logLine(p.child);
    p.child.stdout!.destroy(); // like `keypool serve | head -1`: every later log write hits EPIPE
    const client = createTypedClient(KeyService, `127.0.0.1:${port as number}`);
    await client.generateKeys({ count: 3 });
    client.close();
    const { code, ms } = await stopWith(p, "SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
  });

  it("keeps serving while nobody reads its logs, and exits 0 within 5 s of SIGTERM", async () => {
    // grpc-js tracing turns each call into ~10 debug lines: 1,500 calls write far more than a pipe holds.
    const p = spawnKeypool(["serve", ...LOOPBACK, "--log-level", "debug"], { env: { GRPC_TRACE: "all", GRPC_VERBOSITY: "DEBUG" } });
    const { port } = await logLine(p.child, (line) => typeof line.port === "number");
    p.child.stdout!.pause(); // from here on, nobody reads: the pipe fills, then keypool's log buffer
    const client = createTypedClient(KeyService, `127.0.0.1:${port as number}`);
    try {
      for (let round = 0; round < 15; round++) await Promise.all(Array.from({ length: 100 }, () => client.getPoolStats({})));
      expect((await client.generateKeys({ count: 1 })).keys).toHaveLength(1); // the event loop is not stuck on the full pipe
    } finally {
      client.close();
    }
    const { code, ms } = await stopWith(p, "SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
  });

  it("a second SIGTERM during a drain exits at once (143); one signal alone waits for the drain and exits 0", async () => {
    const patient = spawnKeypool(["serve", ...LOOPBACK]);
    await hangingCall((await logLine(patient.child)).port as number);
    const once = await stopWith(patient, "SIGTERM");
    expect(once.code).toBe(0); // the hanging call was cut off at the end of the grace period
    expect(once.ms).toBeGreaterThan(2_000);
    expect(once.ms).toBeLessThan(5_000);

    const impatient = spawnKeypool(["serve", ...LOOPBACK]);
    await hangingCall((await logLine(impatient.child)).port as number);
    impatient.child.kill("SIGTERM");
    await logLine(impatient.child, (line) => line.msg === "shutting down");
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the window in which a repeat counts as a copy
    const twice = await stopWith(impatient, "SIGTERM");
    expect(twice.code).toBe(143);
    expect(twice.ms).toBeLessThan(1_000);
  });

  it("two SIGINTs at once (Ctrl-C under npm: the terminal's and npm's copy) still drain and exit 0", async () => {
    const p = spawnKeypool(["serve", ...LOOPBACK]);
    await logLine(p.child);
    p.child.kill("SIGINT");
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(0);
  });
});
