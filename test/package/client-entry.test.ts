import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * A program that imports `entry` the way a user's program would and prints every module that got
 * loaded: ES modules through a resolve hook (reported over a port), CommonJS through require.cache.
 */
const PROBE = `
import { createRequire, register } from "node:module";
import { MessageChannel } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
const loaded = new Set();
const ended = new Promise((resolve) => port1.on("message", (url) => (url === "probe:end" ? resolve() : loaded.add(url))));
const hooks = \`
export function initialize({ port }) { globalThis.port = port; }
export async function resolve(specifier, context, next) {
  if (specifier === "probe:end") { globalThis.port.postMessage(specifier); return { url: "data:text/javascript,", shortCircuit: true }; }
  const resolved = await next(specifier, context);
  globalThis.port.postMessage(resolved.url);
  return resolved;
}\`;
register("data:text/javascript," + encodeURIComponent(hooks), import.meta.url, { data: { port: port2 }, transferList: [port2] });
await import(process.argv[1]);
await import("probe:end"); // messages keep their order: once this one arrives, every import before it has
await ended;
for (const path of Object.keys(createRequire(import.meta.url).cache)) loaded.add(path);
console.log(JSON.stringify([...loaded]));
process.exit(0);
`;

async function modulesLoadedBy(specifier: string, cwd: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", PROBE, specifier], { cwd, timeout: 30_000 });
  return JSON.parse(stdout) as string[];
}

const HEAVY = /node_modules\/(lmdb|ioredis|prom-client|pino)\//;

describe("the client entry point (keypool/client)", () => {
  it("loads neither lmdb, ioredis, prom-client nor pino, while the server's entry loads all four", async () => {
    const client = await modulesLoadedBy(`${ROOT}dist/src/index.js`, ROOT);
    expect(client.some((url) => url.includes("node_modules/@grpc/grpc-js/"))).toBe(true);
    expect(client.filter((url) => HEAVY.test(url))).toEqual([]);
    const server = await modulesLoadedBy(`${ROOT}dist/src/cli/serve.js`, ROOT);
    const heavy = new Set(server.map((url) => HEAVY.exec(url)?.[1]).filter(Boolean));
    expect([...heavy].sort()).toEqual(["ioredis", "lmdb", "pino", "prom-client"]);
  });
});
