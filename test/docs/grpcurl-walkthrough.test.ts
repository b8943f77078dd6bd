import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReflectionClient } from "../support/reflection-client.js";
import { strictDescriptorProblems } from "../support/strict-descriptors.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** Every `grpcurl` line of the README's walk-through, as written (comments stripped). */
const LINES = README.split("\n").filter((l) => l.startsWith("grpcurl ")).map((l) => l.replace(/\s+#.*$/, "").trim());

/** Splits a shell line into words, honouring single quotes (all the walk-through uses). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

interface Command {
  readonly data: string | undefined;
  readonly address: string;
  readonly verb: "list" | "describe" | "invoke";
  readonly target: string | undefined;
}

/** Parses a grpcurl command line: `-plaintext`, `-d JSON`, then address and verb or method. */
function parse(line: string): Command {
  const args = words(line).slice(1);
  let data: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-plaintext") continue;
    if (args[i] === "-d") data = args[++i];
    else if (args[i]!.startsWith("-")) throw new Error(`the walk-through uses grpcurl flag ${args[i]}, which this test does not know`);
    else rest.push(args[i]!);
  }
  const [address, verb, target] = rest;
  if (verb === "list" || verb === "describe") return { data, address: address!, verb, target };
  return { data, address: address!, verb: "invoke", target: verb };
}

let t: TestServer;
let client: ReflectionClient;
beforeAll(async () => {
  t = await startTestServer();
  client = new ReflectionClient(t.address);
});
afterAll(async () => {
  client.close();
  await t.close();
});

describe("the README's grpcurl walk-through, run through a reflection-only client", () => {
  it("has a walk-through that starts with list and describe", () => {
    expect(LINES.length).toBeGreaterThan(5);
    expect(LINES.slice(0, 2).map((l) => parse(l).verb)).toEqual(["list", "describe"]);
  });

  it("every line succeeds in order, placeholders filled from earlier answers", async () => {
    const seen = { key: undefined as string | undefined, leaseId: undefined as string | undefined };
    for (const line of LINES) {
      const command = parse(line);
      expect(command.address, line).toBe("localhost:50051");
      if (command.verb === "list") {
        const services = await client.list();
        expect(services, line).toEqual(expect.arrayContaining(["keypool.v1.KeyService", "grpc.health.v1.Health"]));
        if (command.target) expect(services, line).toContain(command.target);
        continue;
      }
      if (command.verb === "describe") {
        const text = await client.describe(command.target!);
        expect(text, line).toMatch(/is a (service|message)/);
        if (command.target === "keypool.v1.KeyService") expect(text, line).toContain("uniformly random free key");
        continue;
      }
      // "kp_…" and "…" stand for the key and lease id the walk-through obtained before.
      const data = command.data?.replaceAll('"kp_…"', JSON.stringify(seen.key)).replaceAll('"…"', JSON.stringify(seen.leaseId));
      const result = await client.invoke(command.target!, data);
      expect({ line, code: grpc.status[result.code], details: result.details }).toEqual({ line, code: "OK", details: "OK" });
      expect(result.responses.length, line).toBeGreaterThan(0);
      for (const json of result.responses) {
        const response = JSON.parse(json) as { keys?: { key: string }[]; key?: { key: string; leaseId?: string } };
        if (command.target!.endsWith("/GenerateKeys")) seen.key ??= response.keys?.[0]?.key;
        if (command.target!.endsWith("/AcquireKey")) {
          seen.key = response.key!.key;
          seen.leaseId = response.key!.leaseId;
        }
      }
    }
    expect(seen.leaseId).toBeDefined();
  });

  it("every descriptor reflection serves passes a strict check (what grpcurl's Go protodesc demands)", async () => {
    const services = await client.list();
    expect(services).toEqual(expect.arrayContaining(["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]));
    const files = new Map<string, Uint8Array>();
    for (const service of services) {
      const encoded = await client.files({ case: "fileContainingSymbol", value: service });
      expect(strictDescriptorProblems(encoded), service).toEqual([]);
      await client.registryFor(service); // protobuf-es resolves every import too
      for (const bytes of encoded) files.set(Buffer.from(bytes).toString("base64"), bytes);
    }
    expect(strictDescriptorProblems([...files.values()])).toEqual([]);
  });
});
