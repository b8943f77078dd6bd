import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { decide, isLoopback } from "../../src/server/access.js";
import type { AccessPolicy } from "../../src/server/access.js";
import { TokenRegistry, hashToken } from "../../src/server/auth.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const dir = mkdtempSync(join(tmpdir(), "keypool-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKENS = { admin: "admin-secret-token", worker: "worker-secret-token", reader: "reader-secret-token" };

function writeAuthFile(tokens: Record<string, string>): string {
  const path = join(dir, "auth.json");
  const entries = Object.entries(tokens).map(([role, token]) => ({ name: `${role}-1`, role, sha256: hashToken(token) }));
  writeFileSync(path, JSON.stringify({ tokens: entries }));
  return path;
}

const registry = new TokenRegistry(writeAuthFile(TOKENS));
const withTokens: AccessPolicy = { tokens: registry, allowInsecureRemote: false, reflection: "authenticated" };
const noTokens: AccessPolicy = { tokens: undefined, allowInsecureRemote: false, reflection: "open" };
const KS = "/keypool.v1.KeyService/";

function md(token?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token) m.set("authorization", `Bearer ${token}`);
  return m;
}

interface AccessCase {
  readonly name: string;
  readonly policy: AccessPolicy;
  readonly path: string;
  readonly token?: string;
  readonly peer: string;
  readonly expect: string;
}

const LOCAL = "127.0.0.1";
const REMOTE = "10.1.2.3";
const cases = [
  { name: "health is open to anyone", policy: withTokens, path: "/grpc.health.v1.Health/Check", peer: REMOTE, expect: "allowed" },
  { name: "no auth: loopback may call anything", policy: noTokens, path: `${KS}GenerateKeys`, peer: LOCAL, expect: "allowed" },
  { name: "no auth: IPv6 loopback too", policy: noTokens, path: `${KS}GenerateKeys`, peer: "::1", expect: "allowed" },
  { name: "no auth: a remote peer is refused", policy: noTokens, path: `${KS}GetKey`, peer: REMOTE, expect: "UNAUTHENTICATED" },
  { name: "no auth: remote allowed when explicitly opted in", policy: { ...noTokens, allowInsecureRemote: true }, path: `${KS}GetKey`, peer: REMOTE, expect: "allowed" },
  { name: "tokens: no token", policy: withTokens, path: `${KS}GetKey`, peer: LOCAL, expect: "UNAUTHENTICATED" },
  { name: "tokens: unknown token", policy: withTokens, path: `${KS}GetKey`, token: "guess", peer: LOCAL, expect: "UNAUTHENTICATED" },
  { name: "admin may generate", policy: withTokens, path: `${KS}GenerateKeys`, token: TOKENS.admin, peer: REMOTE, expect: "allowed" },
  { name: "admin may delete", policy: withTokens, path: `${KS}DeleteKey`, token: TOKENS.admin, peer: REMOTE, expect: "allowed" },
  { name: "worker may acquire", policy: withTokens, path: `${KS}AcquireKey`, token: TOKENS.worker, peer: REMOTE, expect: "allowed" },
  { name: "worker may stream keepalives", policy: withTokens, path: `${KS}KeepAlive`, token: TOKENS.worker, peer: REMOTE, expect: "allowed" },
  { name: "worker may not generate", policy: withTokens, path: `${KS}GenerateKeys`, token: TOKENS.worker, peer: REMOTE, expect: "PERMISSION_DENIED" },
  { name: "worker may not delete", policy: withTokens, path: `${KS}DeleteKey`, token: TOKENS.worker, peer: REMOTE, expect: "PERMISSION_DENIED" },
  { name: "reader may read stats", policy: withTokens, path: `${KS}GetPoolStats`, token: TOKENS.reader, peer: REMOTE, expect: "allowed" },
  { name: "reader may not acquire", policy: withTokens, path: `${KS}AcquireKey`, token: TOKENS.reader, peer: REMOTE, expect: "PERMISSION_DENIED" },
  // Keys are secrets: only admins list or import them.
  { name: "admin may list keys", policy: withTokens, path: `${KS}ListKeys`, token: TOKENS.admin, peer: REMOTE, expect: "allowed" },
  { name: "worker may not list keys", policy: withTokens, path: `${KS}ListKeys`, token: TOKENS.worker, peer: REMOTE, expect: "PERMISSION_DENIED" },
  { name: "reader may not list keys", policy: withTokens, path: `${KS}ListKeys`, token: TOKENS.reader, peer: REMOTE, expect: "PERMISSION_DENIED" },
  { name: "admin may import keys", policy: withTokens, path: `${KS}ImportKeys`, token: TOKENS.admin, peer: REMOTE, expect: "allowed" },
  { name: "worker may not import keys", policy: withTokens, path: `${KS}ImportKeys`, token: TOKENS.worker, peer: REMOTE, expect: "PERMISSION_DENIED" },
  { name: "reflection needs a token when authenticated", policy: withTokens, path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", peer: REMOTE, expect: "UNAUTHENTICATED" },
  { name: "no auth: open reflection is refused to a remote peer (loopback-only mode)", policy: noTokens, path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", peer: REMOTE, expect: "UNAUTHENTICATED" },
  { name: "no auth: open reflection serves loopback", policy: noTokens, path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", peer: LOCAL, expect: "allowed" },
  { name: "tokens: open reflection needs no token", policy: { ...withTokens, reflection: "open" }, path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", peer: REMOTE, expect: "allowed" },
  { name: "reflection with any valid token", policy: withTokens, path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", token: TOKENS.reader, peer: REMOTE, expect: "allowed" },
] satisfies AccessCase[];

describe("access policy", () => {
  it.each(cases)("$name", ({ policy, path, token, peer, expect: outcome }) => {
    const verdict = decide(policy, path, md(token), peer);
    expect("role" in verdict ? "allowed" : grpc.status[verdict.code]).toBe(outcome);
  });

  it("tells a refused remote peer how to configure tokens", () => {
    const verdict = decide(noTokens, `${KS}GetKey`, md(), REMOTE);
    expect("details" in verdict && verdict.details).toMatch(/--auth-file .*--allow-insecure-remote/);
  });

  it.each(["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"])("%s is loopback", (a) => expect(isLoopback(a)).toBe(true));
  it.each(["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "", undefined])("%s is not loopback", (a) => expect(isLoopback(a)).toBe(false));

  it("rejects an auth file holding a plain token instead of its hash", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify({ tokens: [{ name: "x", role: "admin", sha256: "my-token" }] }));
    expect(() => new TokenRegistry(path)).toThrow(/tokens\[0\]: "sha256" must be the 64-hex-digit SHA-256/);
  });

  it("reloads tokens; a broken file keeps the old ones", () => {
    const path = join(dir, "reload.json");
    writeFileSync(path, JSON.stringify({ tokens: [{ name: "a", role: "admin", sha256: hashToken("one") }] }));
    const tokens = new TokenRegistry(path);
    writeFileSync(path, JSON.stringify({ tokens: [{ name: "b", role: "worker", sha256: hashToken("two") }] }));
    expect(tokens.reload()).toBe(1);
    expect([tokens.authenticate("one"), tokens.authenticate("two")?.role]).toEqual([undefined, "worker"]);
    writeFileSync(path, "{oops");
    expect(() => tokens.reload()).toThrow(/not valid JSON/);
    expect(tokens.authenticate("two")?.role).toBe("worker");
  });
});

describe("bearer tokens over gRPC", () => {
  let t: TestServer;
  afterEach(() => t.close());

  it("enforces roles end to end and hides lease ids from readers", async () => {
    t = await startTestServer({ server: { access: withTokens } });
    const as = (token?: string) => ({ metadata: md(token) });
    await expect(t.client.getPoolStats({})).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await t.client.generateKeys({ count: 1 }, as(TOKENS.admin));
    await expect(t.client.generateKeys({ count: 1 }, as(TOKENS.worker))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED, details: "role worker may not call GenerateKeys",
    });
    const { key } = await t.client.acquireKey({}, as(TOKENS.worker));
    expect((await t.client.getKey({ key: key!.key }, as(TOKENS.admin))).key!.leaseId).toBe(key!.leaseId);
    expect((await t.client.getKey({ key: key!.key }, as(TOKENS.reader))).key!.leaseId).toBe("");
    // Another worker could release the key with it: workers see no lease ids either.
    expect((await t.client.getKey({ key: key!.key }, as(TOKENS.worker))).key).toMatchObject({ state: 2, leaseId: "" });
    // Nor through a keepalive of a key they do not hold (KeepAliveKey describes the key it kept).
    expect((await t.client.keepAliveKey({ key: key!.key }, as(TOKENS.worker))).key).toMatchObject({ state: 2, leaseId: "" });
    expect((await t.client.keepAliveKey({ key: key!.key }, as(TOKENS.admin))).key!.leaseId).toBe(key!.leaseId);
    // A client cannot claim a role by sending the internal metadata itself.
    const spoof = md(TOKENS.reader);
    spoof.set("x-keypool-role", "admin");
    expect((await t.client.getKey({ key: key!.key }, { metadata: spoof })).key!.leaseId).toBe("");
  });

  it("a reload ends the KeepAlive streams whose token it removed; the others keep working", async () => {
    const path = join(dir, "revoke.json");
    const entry = (name: string, token: string) => ({ name, role: "worker", sha256: hashToken(token) });
    writeFileSync(path, JSON.stringify({ tokens: [entry("stays", "token-stays"), entry("goes", "token-goes")] }));
    const tokens = new TokenRegistry(path);
    t = await startTestServer({ server: { access: { ...withTokens, tokens } } });
    const open = (token: string) => {
      const call = t.client.keepAlive({ metadata: md(token) });
      const status = new Promise<grpc.StatusObject>((resolve) => {
        call.on("error", () => {});
        call.on("status", resolve);
      });
      return { call, status, answer: () => new Promise((resolve) => call.once("data", resolve)) };
    };
    const [stays, goes] = [open("token-stays"), open("token-goes")];
    for (const s of [stays, goes]) {
      s.call.write({ keys: [] });
      await s.answer();
    }
    writeFileSync(path, JSON.stringify({ tokens: [entry("stays", "token-stays")] }));
    tokens.reload();
    expect(await goes.status).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringMatching(/no longer accepted/) });
    stays.call.write({ keys: [] });
    await stays.answer();
    stays.call.end();
    expect((await stays.status).code).toBe(grpc.status.OK);
    expect(t.server.streams.size).toBe(0);
  });

  it("a reload that takes KeepAlive from a token's role ends its streams with PERMISSION_DENIED", async () => {
    const path = join(dir, "demote.json");
    const write = (role: string) => writeFileSync(path, JSON.stringify({ tokens: [{ name: "w", role, sha256: hashToken("token-w") }] }));
    write("worker");
    const tokens = new TokenRegistry(path);
    t = await startTestServer({ server: { access: { ...withTokens, tokens } } });
    const call = t.client.keepAlive({ metadata: md("token-w") });
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("error", () => {});
      call.on("status", resolve);
    });
    call.write({ keys: [] });
    await new Promise((resolve) => call.once("data", resolve));
    write("reader");
    tokens.reload();
    expect(await status).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/role reader may not call KeepAlive/) });
  });

  it("a stream without a token is refused before it starts", async () => {
    t = await startTestServer({ server: { access: withTokens } });
    const other = createTypedClient(KeyService, t.address);
    const call = other.keepAlive();
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on("error", () => {});
      call.on("status", resolve);
    });
    other.close();
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
