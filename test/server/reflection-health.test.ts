import { createRequire } from "node:module";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const require = createRequire(import.meta.url);
const reflectionProto = (version: string): string =>
  require.resolve(`@grpc/reflection/build/proto/grpc/reflection/${version}/reflection.proto`);

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(() => t.close());

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One request/response exchange on the reflection stream, as grpcurl does it. */
async function reflect(version: "v1" | "v1alpha", request: Json): Promise<Json> {
  const pkg = grpc.loadPackageDefinition(loadSync(reflectionProto(version), { keepCase: true })) as Json;
  const Client = pkg.grpc.reflection[version].ServerReflection;
  const client = new Client(t.address, grpc.credentials.createInsecure());
  try {
    const call = client.ServerReflectionInfo();
    const response = new Promise<Json>((resolve, reject) => {
      call.on("data", resolve);
      call.on("error", reject);
    });
    call.write(request);
    const result = await response;
    call.end();
    return result;
  } finally {
    client.close();
  }
}

describe("server reflection (what grpcurl uses)", () => {
  it.each(["v1", "v1alpha"] as const)("%s lists the KeyService and the health service", async (version) => {
    const response = await reflect(version, { list_services: "" });
    const names = response.list_services_response.service.map((s: Json) => s.name);
    expect(names).toEqual(expect.arrayContaining(["keypool.v1.KeyService", "grpc.health.v1.Health"]));
  });

  it("describes the KeyService with its documentation comments", async () => {
    const response = await reflect("v1", { file_containing_symbol: "keypool.v1.KeyService" });
    const files = response.file_descriptor_response.file_descriptor_proto.map((b: Buffer) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    const keypool = files.find((f: Json) => f.name === "keypool/v1/keypool.proto")!;
    expect(keypool.service[0]!.method.map((m: Json) => m.name)).toEqual([
      "GenerateKeys", "AcquireKey", "ReleaseKey", "DeleteKey", "RenewLease", "KeepAliveKey", "KeepAlive", "GetKey", "GetPoolStats",
    ]);
    const comments = keypool.sourceCodeInfo?.location.map((l: Json) => l.leadingComments).join("\n");
    expect(comments).toMatch(/AcquireKey hands out a uniformly random free key/);
  });
});

describe("health service", () => {
  async function check(service: string): Promise<string> {
    const pkg = grpc.loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String })) as Json;
    const client = new pkg.grpc.health.v1.Health(t.address, grpc.credentials.createInsecure());
    try {
      const response = await new Promise<Json>((resolve, reject) =>
        client.Check({ service }, (err: Error | null, res: Json) => (err ? reject(err) : resolve(res))),
      );
      return response.status;
    } finally {
      client.close();
    }
  }

  it.each(["", "keypool.v1.KeyService"])("reports SERVING for %j", async (service) => {
    expect(await check(service)).toBe("SERVING");
  });
});
