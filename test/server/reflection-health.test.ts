import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerReflection as ReflectionV1, ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { TokenRegistry, hashToken } from "../../src/server/auth.js";
import { MAX_REFLECTION_STREAMS } from "../../src/server/reflection.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { eventually } from "../support/eventually.js";
import { grpcFrame } from "../support/fuzz-raw-http2.js";
import { healthClient } from "../support/health-client.js";
import { ReflectionClient } from "../support/reflection-client.js";
import { strictDescriptorProblems } from "../support/strict-descriptors.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

let t: TestServer;
let reflection: ReflectionClient;
beforeEach(async () => {
  t = await startTestServer();
  reflection = new ReflectionClient(t.address);
});
afterEach(async () => {
  reflection.close();
  await t.close();
});

const HEALTH_PROTO = new URL("../../third_party/proto/grpc/health/v1/health.proto", import.meta.url).pathname;

describe("server reflection (what grpcurl uses)", () => {
  it("v1 lists the KeyService, the health service and reflection itself", async () => {
    expect(await reflection.list()).toEqual([
      "keypool.v1.KeyService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it("v1alpha answers the same questions", async () => {
    const client = createTypedClient(ReflectionV1Alpha, t.address);
    const call = client.serverReflectionInfo();
    call.on("error", () => {});
    const answer = new Promise((resolve) => call.once("data", resolve));
    call.write({ messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" } });
    call.end();
    const response = (await answer) as { messageResponse: { case: string; value: { fileDescriptorProto: Uint8Array[] } } };
    expect(response.messageResponse.case).toBe("fileDescriptorResponse");
    expect(strictDescriptorProblems(response.messageResponse.value.fileDescriptorProto)).toEqual([]);
    client.close();
  });

  it("describes the KeyService with its documentation comments", async () => {
    const [keypool] = (await reflection.files({ case: "fileContainingSymbol", value: "keypool.v1.KeyService" })).map((b) => fromBinary(FileDescriptorProtoSchema, b));
    expect(keypool!.name).toBe("keypool/v1/keypool.proto");
    expect(keypool!.service[0]!.method.map((m) => m.name)).toEqual(expect.arrayContaining(["GenerateKeys", "AcquireKey", "ReleaseKey", "GetPoolStats"]));
    expect(await reflection.describe("keypool.v1.KeyService")).toMatch(/AcquireKey hands out a uniformly random free key/);
  });

  it("finds methods, fields, nested types and enum values, and answers unknown names in-band", async () => {
    for (const symbol of ["keypool.v1.KeyService.AcquireKey", "grpc.health.v1.HealthListResponse.StatusesEntry", "grpc.health.v1.HealthCheckResponse.SERVING"]) {
      const [file] = await reflection.files({ case: "fileContainingSymbol", value: symbol });
      expect(fromBinary(FileDescriptorProtoSchema, file!).name, symbol).toMatch(/\.proto$/);
    }
    const { messageResponse } = await reflection.ask({ messageRequest: { case: "fileContainingSymbol", value: "no.Such" } });
    expect(messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: grpc.status.NOT_FOUND, errorMessage: "symbol not found: no.Such" } });
  });

  it("the strict check rejects what proto-loader made of health.proto (the grpcurl failure this replaces)", () => {
    const converted = (loadSync(HEALTH_PROTO)["grpc.health.v1.HealthListResponse"] as { fileDescriptorProtos: Uint8Array[] }).fileDescriptorProtos;
    expect(strictDescriptorProblems(converted).join("\n")).toMatch(/incorrect implicit map entry name Statuses \(protoc: StatusesEntry\)/);
  });
});

describe("reflection under attack", () => {
  it("a client that never reads stops being read: its requests back up on its side, not in the server", async () => {
    const session = http2.connect(`http://${t.address}`);
    const stream = session.request({
      ":method": "POST", ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "content-type": "application/grpc", te: "trailers",
    });
    session.on("error", () => {});
    stream.on("error", () => {});
    stream.pause(); // never read the answers
    const frame = grpcFrame(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } })));
    let sent = 0;
    let backedUp = 0;
    // Before backpressure the server read and answered every request at once (a 28-byte request
    // could buy a 24 KB answer held in server memory): the client's bytes never backed up.
    for (let round = 0; round < 100 && backedUp < 3; round++) {
      for (let i = 0; i < 1_000; i++, sent++) stream.write(frame);
      await new Promise((r) => setTimeout(r, 50));
      backedUp = stream.writableLength > 0 ? backedUp + 1 : 0;
    }
    expect(backedUp).toBe(3);
    // Reading again: every request is answered.
    let answers = 0;
    let pending = Buffer.alloc(0);
    stream.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        pending = pending.subarray(5 + pending.readUInt32BE(1));
        answers++;
      }
    });
    stream.resume();
    stream.end();
    await eventually(() => answers === sent, `${sent} answers`, { limitMs: 20_000 });
    session.close();
  }, 30_000);

  it(`refuses more than ${MAX_REFLECTION_STREAMS} open reflection streams, and ends open ones at shutdown`, async () => {
    const client = createTypedClient(ReflectionV1, t.address);
    const ended = Array.from({ length: MAX_REFLECTION_STREAMS + 1 }, () => {
      const call = client.serverReflectionInfo();
      call.on("data", () => {});
      call.on("error", () => {});
      call.write({ messageRequest: { case: "listServices", value: "" } });
      return new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    });
    const first = await Promise.race(ended);
    expect(first).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: `${MAX_REFLECTION_STREAMS} reflection streams are open (at most ${MAX_REFLECTION_STREAMS}); retry later` });
    await t.server.shutdown();
    const codes = new Set((await Promise.all(ended)).map((s) => grpc.status[s.code]));
    expect(codes).toEqual(new Set(["RESOURCE_EXHAUSTED", "UNAVAILABLE"]));
    client.close();
  });
});

describe("reflection and auth reloads", () => {
  it("with --reflection authenticated, a reload that removes a token ends the reflection streams opened with it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keypool-reflect-auth-"));
    const path = join(dir, "auth.json");
    const write = (...names: string[]): void =>
      writeFileSync(path, JSON.stringify({ tokens: names.map((name) => ({ name, role: "reader", sha256: hashToken(`token-${name}`) })) }));
    write("stays", "goes");
    const tokens = new TokenRegistry(path);
    const authed = await startTestServer({ server: { access: { tokens, allowInsecureRemote: false, reflection: "authenticated" } } });
    const client = createTypedClient(ReflectionV1, authed.address);
    const open = (name: string) => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer token-${name}`);
      const call = client.serverReflectionInfo({ metadata });
      call.on("error", () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      const answered = new Promise((resolve) => call.once("data", resolve));
      call.write({ messageRequest: { case: "listServices", value: "" } });
      return { call, status, answered };
    };
    try {
      const [stays, goes] = [open("stays"), open("goes")];
      await Promise.all([stays.answered, goes.answered]);
      write("stays");
      tokens.reload();
      expect((await goes.status).code).toBe(grpc.status.UNAUTHENTICATED);
      stays.call.end();
      expect((await stays.status).code).toBe(grpc.status.OK);
    } finally {
      client.close();
      await authed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("health service", () => {
  it.each(["", "keypool.v1.KeyService"])("reports SERVING for %j", async (service) => {
    const client = healthClient(t.address);
    expect(await client.check(service)).toBe("SERVING");
    client.close();
  });
});
