import { once } from "node:events";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { ManualClock } from "../../src/clock.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { TokenRegistry, hashToken } from "../../src/server/auth.js";
import { pathOf } from "../support/fuzz-calls.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
const sessions: http2.ClientHttp2Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await t.close();
});

/** A raw HTTP/2 connection from `localAddress` (any 127.x.y.z is this machine). */
function connect(localAddress = "127.0.0.1"): http2.ClientHttp2Session {
  const session = http2.connect(`http://${t.address}`, { localAddress } as http2.SecureClientSessionOptions);
  session.on("error", () => {});
  sessions.push(session);
  return session;
}

/** Does `session` answer a GetPoolStats call (within 2 s)? */
async function serves(session: http2.ClientHttp2Session): Promise<boolean> {
  if (session.destroyed || session.closed) return false;
  const stream = session.request({ ":method": "POST", ":path": pathOf("GetPoolStats"), "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => {});
  stream.end(Buffer.alloc(5));
  stream.resume();
  const status = new Promise<boolean>((resolve) => {
    stream.on("trailers", (h) => resolve(h["grpc-status"] === "0"));
    stream.on("close", () => resolve(false));
  });
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref());
  return Promise.race([status, timeout]);
}

/** Opens and at once resets `n` GetPoolStats calls; resolves with how many went out before the session closed. */
async function rapidReset(session: http2.ClientHttp2Session, n: number): Promise<number> {
  await once(session, "connect");
  let sent = 0;
  while (sent < n && !session.closed && !session.destroyed) {
    const stream = session.request({ ":method": "POST", ":path": pathOf("GetPoolStats"), "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.close(http2.constants.NGHTTP2_CANCEL);
    sent++;
    if (sent % 10 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  if (!session.destroyed) await Promise.race([once(session, "close"), new Promise((r) => setTimeout(r, 2_000))]);
  return sent;
}

describe("listening", () => {
  it("--host :: serves IPv6 and IPv4 clients on one port", async () => {
    t = await startTestServer({ server: { host: "::" } });
    expect(await serves(connect())).toBe(true);
    const v6 = http2.connect(`http://[::1]:${t.server.port}`);
    v6.on("error", () => {});
    sessions.push(v6);
    expect(await serves(v6)).toBe(true);
  });
});

describe("connection limits", () => {
  it("past --max-connections a new connection is closed at once; the open ones keep working", async () => {
    t = await startTestServer({ server: { limits: { maxConnections: 3 } } });
    const open = [connect(), connect(), connect()];
    expect(await Promise.all(open.map(serves))).toEqual([true, true, true]);
    expect(await serves(connect())).toBe(false);
    expect(t.server.metrics.registry.getSingleMetric("keypool_open_connections")).toBeDefined();
    open[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(await serves(connect())).toBe(true);
    expect(await serves(open[1]!)).toBe(true);
  });

  it("past --max-connections-per-peer one address is refused, another is served", async () => {
    t = await startTestServer({ server: { limits: { maxConnectionsPerPeer: 2 } } });
    expect(await Promise.all([connect(), connect()].map(serves))).toEqual([true, true]);
    expect(await serves(connect("127.0.0.1"))).toBe(false);
    expect(await serves(connect("127.0.0.2"))).toBe(true);
  });

  it("a rapid-reset client is cut off after --max-resets cancels and refused until the penalty ends", async () => {
    const clock = new ManualClock();
    t = await startTestServer({ server: { clock, limits: { maxResets: 20 } } });
    const bystander = connect("127.0.0.2");
    expect(await serves(bystander)).toBe(true);
    // nghttp2 alone would take 1,000 resets before it sends GOAWAY; the budget stops it at ~20.
    const sent = await rapidReset(connect(), 1_000);
    expect(sent).toBeLessThan(200);
    expect(await serves(connect())).toBe(false);
    expect(await serves(bystander)).toBe(true);
    clock.advance(10_000);
    expect(await serves(connect())).toBe(true);
  });

  /** A server that wants a token (so a call without one is refused at its HEADERS). */
  async function withTokens(limits: { maxResets: number }, clock?: ManualClock): Promise<TestServer> {
    const authFile = join(mkdtempSync(join(tmpdir(), "keypool-resets-")), "auth.json");
    writeFileSync(authFile, JSON.stringify({ tokens: [{ name: "w", role: "worker", sha256: hashToken("secret") }] }));
    const access = { tokens: new TokenRegistry(authFile), allowInsecureRemote: false, reflection: "authenticated" as const };
    return startTestServer({ server: { access, limits, ...(clock ? { clock } : {}) } });
  }

  it("calls the server refuses (here: no token) are answered: --max-resets of them per 10 s, then the address is cut off", async () => {
    const clock = new ManualClock();
    t = await withTokens({ maxResets: 20 }, clock);
    const codes: string[] = [];
    for (let i = 0; i < 25; i++) codes.push(await t.client.getPoolStats({}).then(() => "OK", (e: grpc.ServiceError) => grpc.status[e.code]!));
    expect(codes.slice(0, 20)).toEqual(Array(20).fill("UNAUTHENTICATED"));
    expect(codes.slice(21)).toEqual(Array(4).fill("UNAVAILABLE"));
    clock.advance(10_000);
    // A channel of its own: the shared subchannel backs off after being cut.
    const fresh = createTypedClient(KeyService, t.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    expect(await fresh.getPoolStats({}).catch((e: grpc.ServiceError) => grpc.status[e.code])).toBe("UNAUTHENTICATED");
    fresh.close();
  });

  it("a rapid-reset client without a token (each call refused before its reset arrives) is cut off after --max-resets", async () => {
    const clock = new ManualClock();
    t = await withTokens({ maxResets: 20 }, clock);
    const bystander = connect("127.0.0.2");
    const sent = await rapidReset(connect(), 1_000);
    expect(sent).toBeLessThan(200);
    expect(await serves(connect())).toBe(false);
    const stream = bystander.request({ ":method": "POST", ":path": pathOf("GetPoolStats"), "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.end(Buffer.alloc(5));
    stream.resume();
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    expect(headers["grpc-status"]).toBe(String(grpc.status.UNAUTHENTICATED));
    clock.advance(10_000);
    expect(bystander.destroyed).toBe(false);
  });

  it("calls that end at their deadline or with their connection are not charged as resets", async () => {
    t = await startTestServer({ server: { limits: { maxResets: 5, maxWaiters: 1_000 } } });
    const waits = Array.from({ length: 50 }, () => t.client.acquireKey({ wait: { seconds: 60n } }, { timeoutMs: 1_000 }).catch((e: grpc.ServiceError) => e.code));
    // A handler that starts within ANSWER_MARGIN_MS of the deadline (a loaded machine) answers
    // NOT_FOUND at once instead of waiting: not charged either.
    const codes = new Set(await Promise.all(waits));
    expect(codes).toContain(grpc.status.DEADLINE_EXCEEDED);
    expect([...codes].filter((c) => c !== grpc.status.DEADLINE_EXCEEDED && c !== grpc.status.NOT_FOUND)).toEqual([]);
    expect((await t.client.getPoolStats({})).total).toBe(0n);
    for (let round = 0; round < 3; round++) {
      const session = connect();
      for (let i = 0; i < 20; i++) {
        const stream = session.request({ ":method": "POST", ":path": pathOf("AcquireKey"), "content-type": "application/grpc", te: "trailers" });
        stream.on("error", () => {});
        stream.write(Buffer.from([0, 0, 0, 0, 4, 10, 2, 8, 60])); // wait: 60 s
      }
      await new Promise((r) => setTimeout(r, 100));
      session.destroy();
    }
    expect(await serves(connect())).toBe(true);
  });
});
