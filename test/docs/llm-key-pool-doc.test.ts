import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockTypeErrors, codeBlocks, installCli, runShBlocks, runTsBlock } from "../support/doc-blocks.js";
import type { Block, RunPlace } from "../support/doc-blocks.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

/** Every code block of docs/llm-key-pool.md runs here, in order, against a server and a stand-in LLM API. */
const DOC = readFileSync(new URL("../../docs/llm-key-pool.md", import.meta.url), "utf8");
const BLOCKS = codeBlocks(DOC);

/** Five 51-byte keys shaped like an LLM provider's. */
const KEYS = Array.from({ length: 5 }, () => `sk-proj-${randomBytes(32).toString("base64url").slice(0, 43)}`);

/**
 * The provider, in miniature: answers every chat call after a few ms, except that the first key
 * it sees is rate limited (429, Retry-After: 30) from then on. It records how many calls each
 * key had in flight at once: a key used by two workers at the same time would show 2.
 */
interface FakeApi {
  readonly server: Server;
  readonly url: string;
  readonly limited: () => string | undefined;
  readonly calls: Map<string, number>;
  readonly mostInFlight: () => number;
}

async function startFakeApi(): Promise<FakeApi> {
  let limited: string | undefined;
  const calls = new Map<string, number>();
  const inFlight = new Map<string, number>();
  let most = 0;
  const server = createServer((req, res) => {
    const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    calls.set(key, (calls.get(key) ?? 0) + 1);
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    most = Math.max(most, inFlight.get(key)!);
    limited ??= key;
    req.resume();
    setTimeout(() => {
      inFlight.set(key, inFlight.get(key)! - 1);
      if (key === limited) res.writeHead(429, { "retry-after": "30" }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ message: { content: "a summary" } }] }));
    }, 15);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
  return { server, url, limited: () => limited, calls, mostInFlight: () => most };
}

const dir = mkdtempSync(join(tmpdir(), "keypool-llm-doc-"));
let t: TestServer;
let api: FakeApi;
let place: RunPlace;
beforeAll(async () => {
  t = await startTestServer({ maxPools: 1_000 });
  api = await startFakeApi();
  installCli(dir);
  writeFileSync(join(dir, "keys.txt"), `${KEYS.join("\n")}\n`);
  place = { cwd: dir, binDir: dir, env: { KEYPOOL_ADDR: t.address, LLM_API_URL: api.url } };
});
afterAll(async () => {
  await t.close();
  api.server.close();
  rmSync(dir, { recursive: true, force: true });
});

const ts = (): Block[] => BLOCKS.filter((b) => b.lang === "ts");
const sh = (): Block[] => BLOCKS.filter((b) => b.lang === "sh");

describe("docs/llm-key-pool.md", () => {
  it("has its four steps: import (sh), workers (ts), look (sh), keep alive (ts)", () => {
    expect(BLOCKS.map((b) => b.lang)).toEqual(["sh", "ts", "sh", "ts"]);
  });

  it("every TypeScript block compiles under tsc (strict), importing the package as a user would", () => {
    expect(blockTypeErrors(ts(), "llm", dir)).toEqual([]);
  }, 120_000);

  // The steps share the server and the files, so they run in the doc's order.
  it("1. imports the keys from keys.txt", async () => {
    const run = await runShBlocks([sh()[0]!], "llm", place);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("imported 5 key(s) into pool openai");
    expect(run.stdout).toMatch(/free\s+5\n/);
    for (const key of KEYS) expect(run.stdout + run.stderr).not.toContain(key);
  }, 60_000);

  it("2. three workers answer every prompt; the 429 parks its key and the others keep working", async () => {
    const run = await runTsBlock(ts()[0]!, "llm", place);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("answered 12 prompts with 3 workers");
    expect(run.stdout).toMatch(/sk-p.+ is rate limited: parked for 30 s\n/);
    expect(run.stdout).not.toContain(api.limited()!);
    expect(api.calls.get(api.limited()!)).toBe(1); // parked after its 429: never handed out again
    expect([...api.calls.values()].reduce((a, b) => a + b, 0)).toBe(13); // 12 answers + the one 429
    expect(api.mostInFlight()).toBe(1); // no key was ever used by two workers at once
  }, 60_000);

  it("3. the listing shows the parked key cooling, and the other four free", async () => {
    const run = await runShBlocks([sh()[1]!], "llm", place);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const table = run.stdout.split("\n").filter((l) => l.includes("sk-proj-"));
    expect(table).toHaveLength(1);
    expect(table[0]).toMatch(new RegExp(`^${api.limited()}\\s+cooling\\s+-\\s+-\\s+${new Date(t.clock.now() + 30_000).toISOString()}`));
    const listed = JSON.parse(readFileSync(join(dir, "pool.json"), "utf8")).keys as { key: string; pool: string; state: string }[];
    expect(listed.map((k) => k.key).sort()).toEqual([...KEYS].sort());
    expect(listed.filter((k) => k.state === "cooling").map((k) => k.key)).toEqual([api.limited()]);
    expect(new Set(listed.map((k) => k.pool))).toEqual(new Set(["openai"]));
    expect(JSON.parse(run.stdout.slice(run.stdout.indexOf("{")))).toMatchObject({ total: 5, free: 4, blocked: 0, cooling: 1 });
  }, 60_000);

  it("4. the keepalive pass keeps every key of the pool alive, the cooling one too", async () => {
    t.scheduler.advance(10_000); // 10 s on: the parked key is still cooling, every key 10 s older
    const run = await runTsBlock(ts()[1]!, "llm", place);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("kept 5 keys of pool openai alive");
    const info = await t.client.getKey({ key: api.limited()!, pool: "openai" });
    expect(Number(info.key!.expiresAt!.seconds) * 1000).toBe(t.clock.now() + 300_000);
  }, 60_000);
});
