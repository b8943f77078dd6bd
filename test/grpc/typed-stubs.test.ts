import { describe, expect, expectTypeOf, it } from "vitest";
import type { AcquireKeyResponse, GetPoolStatsResponse } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { serviceDefinition } from "../../src/grpc/service-definition.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import type { ServiceImpl } from "../../src/grpc/typed-server.js";

type Client = TypedClient<typeof KeyService>;

/** Compile-time checks: `npm test` runs tsc over this file first, so a wrong field fails the run. */
export function compileTimeChecks(client: Client, impl: ServiceImpl<typeof KeyService>): void {
  void client.releaseKey({ key: "k", leaseId: "l" });
  // @ts-expect-error: a misspelt request field is a type error
  void client.releaseKey({ key: "k", lease: "l" });
  // @ts-expect-error: a field of the wrong type is a type error
  void client.generateKeys({ count: "ten" });
  // @ts-expect-error: there is no such RPC
  void client.acquireKeys({});
  // @ts-expect-error: a unary handler must return the method's response shape
  impl.getKey = async () => ({ keys: [] });
}

describe("typed stubs from the protobuf-es descriptors", () => {
  it("types responses as the generated messages", () => {
    expectTypeOf<Awaited<ReturnType<Client["acquireKey"]>>>().toEqualTypeOf<AcquireKeyResponse>();
    expectTypeOf<Awaited<ReturnType<Client["getPoolStats"]>>>().toEqualTypeOf<GetPoolStatsResponse>();
  });

  it("builds the grpc-js definition grpc-js expects (paths, stream flags, round-trip serializers)", () => {
    const def = serviceDefinition(KeyService);
    expect(Object.keys(def)).toEqual([
      "generateKeys", "importKeys", "listKeys", "acquireKey", "releaseKey", "deleteKey", "renewLease", "keepAliveKey", "keepAlive", "getKey", "getPoolStats",
    ]);
    expect(def.keepAlive).toMatchObject({ path: "/keypool.v1.KeyService/KeepAlive", requestStream: true, responseStream: true });
    expect(def.getKey).toMatchObject({ path: "/keypool.v1.KeyService/GetKey", requestStream: false, responseStream: false });
    const bytes = def.generateKeys!.requestSerialize({ count: 7 });
    expect(def.generateKeys!.requestDeserialize(bytes)).toMatchObject({ count: 7 });
  });
});
