import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { TokenRegistry, hashToken, parseAuthFile } from "../../src/server/auth.js";
import type { AccessPolicy } from "../../src/server/access.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

/** Auth-file tokens limited to pools (issue 13): PERMISSION_DENIED naming the pool outside them. */
const dir = mkdtempSync(join(tmpdir(), "keypool-pool-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Token { readonly name: string; readonly role: string; readonly token: string; readonly pools?: readonly unknown[] }

function writeTokens(file: string, tokens: readonly Token[]): string {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify({ tokens: tokens.map(({ name, role, token, pools }) => ({ name, role, sha256: hashToken(token), pools })) }));
  return path;
}

const as = (token: string) => {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return { metadata };
};

interface ParseCase { readonly name: string; readonly pools: unknown; readonly error: RegExp }
const badPools = [
  { name: "an empty list", pools: [], error: /tokens\[0\]: "pools" must be a non-empty list of pool names \(leave it out for every pool\)/ },
  { name: "not a list", pools: "openai", error: /"pools" must be a non-empty list/ },
  { name: "a malformed name", pools: ["openai", "Open AI"], error: /tokens\[0\], pools\[1\]: pool name "Open AI" is invalid/ },
  { name: "a number", pools: [7], error: /pools\[0\]: pool name "7" is invalid/ },
] satisfies ParseCase[];

describe("auth file pools", () => {
  it.each(badPools)("refuses $name, naming the entry", ({ pools, error }) => {
    const text = JSON.stringify({ tokens: [{ name: "w", role: "worker", sha256: hashToken("t"), pools }] });
    expect(() => parseAuthFile("auth.json", text)).toThrow(error);
  });

  it("keeps a token's pools (absent: every pool)", () => {
    const tokens = new TokenRegistry(writeTokens("parse.json", [
      { name: "limited", role: "worker", token: "t-limited", pools: ["openai", "github"] },
      { name: "all", role: "worker", token: "t-all" },
    ]));
    expect(tokens.authenticate("t-limited")).toEqual({ name: "limited", role: "worker", pools: ["openai", "github"] });
    expect(tokens.authenticate("t-all")).toEqual({ name: "all", role: "worker", pools: undefined });
  });
});

describe("tokens limited to pools, over gRPC", () => {
  let t: TestServer;
  afterEach(() => t.close());
  const serve = async (tokens: TokenRegistry) => {
    const access: AccessPolicy = { tokens, allowInsecureRemote: false, reflection: "open" };
    t = await startTestServer({ server: { access } });
  };
  const denied = (pool: string) => ({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining(`pool "${pool}"`) });

  it("allows the token's pools and refuses every other one, the default pool too, naming it", async () => {
    await serve(new TokenRegistry(writeTokens("limited.json", [
      { name: "admin", role: "admin", token: "t-admin" },
      { name: "openai", role: "admin", token: "t-openai", pools: ["openai"] },
    ])));
    const { keys } = await t.client.generateKeys({ count: 2 }, as("t-admin"));
    const key = keys[0]!.key;
    const limited = as("t-openai");
    // Its own pool: allowed (the pool holds nothing, so NOT_FOUND and zero counts).
    await expect(t.client.acquireKey({ pool: "openai" }, limited)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await t.client.getPoolStats({ pool: "openai" }, limited)).total).toBe(0n);
    // The default pool, named or not, and any other pool: refused before anything changes.
    for (const pool of ["", "default", "github"]) {
      const shown = pool || "default";
      await expect(t.client.acquireKey({ pool }, limited)).rejects.toMatchObject(denied(shown));
      await expect(t.client.generateKeys({ count: 1, pool }, limited)).rejects.toMatchObject(denied(shown));
      await expect(t.client.deleteKey({ key, pool }, limited)).rejects.toMatchObject(denied(shown));
      await expect(t.client.getKey({ key, pool }, limited)).rejects.toMatchObject(denied(shown));
      await expect(t.client.getPoolStats({ pool }, limited)).rejects.toMatchObject(denied(shown));
      await expect(t.client.listKeys({ pool }, limited)).rejects.toMatchObject(denied(shown));
      await expect(t.client.importKeys({ keys: ["sk-abcdefgh"], pool }, limited)).rejects.toMatchObject(denied(shown));
    }
    expect((await t.client.getPoolStats({}, as("t-admin"))).total).toBe(2n);
    // A malformed name is INVALID_ARGUMENT whoever asks.
    await expect(t.client.acquireKey({ pool: "Open AI" }, limited)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it("a client cannot widen its pools by sending the internal metadata", async () => {
    await serve(new TokenRegistry(writeTokens("spoof.json", [{ name: "w", role: "worker", token: "t-w", pools: ["openai"] }])));
    const spoof = as("t-w");
    spoof.metadata.set("x-keypool-pools", "openai,default");
    await expect(t.client.acquireKey({}, spoof)).rejects.toMatchObject(denied("default"));
  });

  it("checks each KeepAlive message's pool: another pool ends the stream with PERMISSION_DENIED", async () => {
    await serve(new TokenRegistry(writeTokens("stream.json", [{ name: "w", role: "worker", token: "t-w", pools: ["openai"] }])));
    const call = t.client.keepAlive(as("t-w"));
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("error", () => {});
      call.on("status", resolve);
    });
    call.write({ keys: ["kp_AAAAAAAAAAAAAAAAAAAAAAAA"], pool: "openai" });
    const first = await new Promise<{ results: { found: boolean }[] }>((resolve) => call.once("data", resolve));
    expect(first.results.map((r) => r.found)).toEqual([false]);
    call.write({ keys: ["kp_AAAAAAAAAAAAAAAAAAAAAAAA"], pool: "" });
    expect(await status).toMatchObject(denied("default"));
  });

  it("a reload that takes a pool from a token refuses that pool on its open stream's next message", async () => {
    const path = join(dir, "reload.json");
    const write = (pools: string[]) => writeTokens("reload.json", [{ name: "w", role: "worker", token: "t-w", pools }]);
    write(["openai", "github"]);
    const tokens = new TokenRegistry(path);
    await serve(tokens);
    const call = t.client.keepAlive(as("t-w"));
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("error", () => {});
      call.on("status", resolve);
    });
    const answer = () => new Promise((resolve) => call.once("data", resolve));
    call.write({ keys: [], pool: "github" });
    await answer();
    write(["openai"]);
    tokens.reload();
    call.write({ keys: [], pool: "openai" });
    await answer();
    call.write({ keys: [], pool: "github" });
    expect(await status).toMatchObject(denied("github"));
  });
});
