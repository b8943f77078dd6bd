import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeyPoolClient, KeyPoolClientError } from "../../src/index.js";
import type { KeepAliveHold, KeyPoolClient, KeyPoolClientOptions, LeaseHold, LostReason } from "../../src/index.js";
import { TokenRegistry, hashToken } from "../../src/server/auth.js";
import { providerKeys } from "../support/provider-keys.js";
import { startTestServer, TEST_TTLS } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";
import { ManualScheduler } from "./support/manual-scheduler.js";

/**
 * A hold the caller's token may not keep (its pool is outside the token's "pools") is refused
 * alone: its owner hears PERMISSION_DENIED at once, every other hold on the shared stream goes
 * on, is never lost, and the client never reports the stream down.
 */
const dir = mkdtempSync(join(tmpdir(), "keypool-pool-refusals-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ADMIN = "admin-token-for-refusal-tests";
const WORKER = "worker-token-for-refusal-tests";
const authFile = join(dir, "auth.json");
const writeAuth = (workerPools: readonly string[]) =>
  writeFileSync(authFile, JSON.stringify({
    tokens: [
      { name: "ops", role: "admin", sha256: hashToken(ADMIN) },
      { name: "workers", role: "worker", sha256: hashToken(WORKER), pools: workerPools },
    ],
  }));
/** The block TTL's third: how often a client sends when it holds a lease. */
const INTERVAL = TEST_TTLS.blockTtlMs / 3;

let t: TestServer;
let tokens: TokenRegistry;
let scheduler: ManualScheduler;
let admin: KeyPoolClient;
const clients: KeyPoolClient[] = [];
/** Everything the worker clients told their owners: lost holds and stream breaks. */
let heard: string[];
beforeEach(async () => {
  writeAuth(["openai"]);
  tokens = new TokenRegistry(authFile);
  t = await startTestServer({ maxPools: 10, server: { access: { tokens, allowInsecureRemote: false, reflection: "open" } } });
  scheduler = new ManualScheduler(t.clock);
  admin = client({ token: ADMIN });
  heard = [];
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t.close();
});

function client(options: KeyPoolClientOptions): KeyPoolClient {
  const c = createKeyPoolClient(t.address, { scheduler, random: () => 1, ...options });
  c.on("lost", (_key, reason, pool) => heard.push(`lost ${pool} ${reason}`));
  c.on("disconnected", (err) => heard.push(`disconnected ${err.code}`));
  clients.push(c);
  return c;
}

/** Moves both clocks one send interval (`ms`) on and waits until every hold of `holds` was renewed. */
async function tick(holds: readonly KeepAliveHold[], ms = INTERVAL): Promise<void> {
  const renewed = Promise.all(holds.map((h) => once(h, "renewed")));
  scheduler.advance(ms);
  await renewed;
}

/** Asserts `hold` was refused with PERMISSION_DENIED naming `pool`, and is over. */
async function refused(hold: KeepAliveHold, pool: string): Promise<void> {
  const reasons: LostReason[] = hold.lostReason ? [hold.lostReason] : ((await once(hold, "lost")) as LostReason[]);
  expect(reasons).toEqual(["permission-denied"]);
  expect(hold.active).toBe(false);
  const error = hold.signal.reason as KeyPoolClientError;
  expect(error).toBeInstanceOf(KeyPoolClientError);
  expect([error.code, error.method]).toEqual(["PERMISSION_DENIED", "KeepAlive"]);
  expect(error.details).toContain(`may not use pool "${pool}"`);
  expect(error.message).not.toContain(hold.key);
}

describe("a hold in a pool the token may not use", () => {
  it("is refused alone: the other holds on the shared stream keep being kept alive and renewed, never lost", async () => {
    const [openai, gemini] = [providerKeys(3, "o"), providerKeys(1, "g")];
    await admin.importKeys(openai, { pool: "openai" });
    await admin.importKeys(gemini, { pool: "gemini" });
    const worker = client({ token: WORKER, keepaliveTtlMs: TEST_TTLS.keepaliveTtlMs });
    const lease = worker.hold(await worker.acquireKey({ pool: "openai" }));
    const alive = [lease.key === openai[0] ? openai[1]! : openai[0]!].map((key) => worker.hold(key, { pool: "openai" }));
    const others = [lease, ...alive];
    await Promise.all(others.map((h) => once(h, "renewed")));

    const forbidden = worker.hold(gemini[0]!, { pool: "gemini" });
    await refused(forbidden, "gemini");
    for (let i = 0; i < 9; i++) await tick(others); // three block TTLs, past every deadline of before the refusal
    expect(others.every((h) => h.active)).toBe(true);
    expect(heard).toEqual(["lost gemini permission-denied"]);
    expect(await admin.getKey(lease.key, { pool: "openai" })).toMatchObject({ state: "blocked", leaseId: lease.leaseId, blockedUntil: t.clock.now() + TEST_TTLS.blockTtlMs });
    expect((await admin.getKey(alive[0]!.key, { pool: "openai" })).expiresAt).toBe(t.clock.now() + TEST_TTLS.keepaliveTtlMs);
    expect(t.server.streams.size).toBe(1);
  });

  it("is refused alone when it is the hold the client would learn the keepalive TTL with", async () => {
    const [openai, gemini] = [providerKeys(1, "o"), providerKeys(1, "g")];
    await admin.importKeys(openai, { pool: "openai" });
    await admin.importKeys(gemini, { pool: "gemini" });
    const worker = client({ token: WORKER }); // no keepaliveTtlMs: it asks the server, with the first hold's key
    const forbidden = worker.hold(gemini[0]!, { pool: "gemini" });
    const kept = worker.hold(openai[0]!, { pool: "openai" });
    await refused(forbidden, "gemini");
    await once(kept, "renewed");
    expect(worker.holdIntervalMs).toBe(TEST_TTLS.keepaliveTtlMs / 3);
    for (let i = 0; i < 6; i++) await tick([kept], worker.holdIntervalMs);
    expect(kept.active).toBe(true);
    expect(heard).toEqual(["lost gemini permission-denied"]);
  });

  it("a pool the reloaded auth file takes away: its holds are refused, leases too, the others go on", async () => {
    writeAuth(["openai", "gemini"]);
    tokens.reload();
    const [openai, gemini] = [providerKeys(2, "o"), providerKeys(2, "g")];
    await admin.importKeys(openai, { pool: "openai" });
    await admin.importKeys(gemini, { pool: "gemini" });
    const worker = client({ token: WORKER, keepaliveTtlMs: TEST_TTLS.keepaliveTtlMs });
    const [leasedO, leasedG] = [await worker.acquireKey({ pool: "openai" }), await worker.acquireKey({ pool: "gemini" })];
    // Held first, so the pool taken away heads every later send: the requests after it go unanswered.
    const doomed = [worker.hold(leasedG), worker.hold(gemini.find((k) => k !== leasedG.key)!, { pool: "gemini" })];
    const others = [worker.hold(leasedO), worker.hold(openai.find((k) => k !== leasedO.key)!, { pool: "openai" })];
    await Promise.all([...others, ...doomed].map((h) => once(h, "renewed")));

    writeAuth(["openai"]);
    tokens.reload();
    await tick(others);
    for (const hold of doomed) await refused(hold, "gemini");
    for (let i = 0; i < 6; i++) await tick(others);
    expect(others.every((h) => h.active)).toBe(true);
    expect(heard).toEqual(["lost gemini permission-denied", "lost gemini permission-denied"]);
    const release = await (doomed[0] as LeaseHold).release().then(() => "released", (err: KeyPoolClientError) => err.code);
    expect(release).toBe("PERMISSION_DENIED"); // the lease may still be on the server, and this token may not end it
  });
});
