import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { GetKeyRequestSchema } from "../gen/keypool/v1/keypool_pb.js";
import type { GetKeyRequest } from "../gen/keypool/v1/keypool_pb.js";

/**
 * A trivial echo RPC, served by the keypool server process next to the KeyService (through
 * `startServer`'s `configure`), so the load generator can measure the transport's ceiling in the
 * same run: same grpc-js server, same protobuf-es serialization, no handler work. The request
 * is a GetKeyRequest (one key string, like most keypool requests) and is sent straight back.
 */
export const ECHO_PATH = "/keypool.bench.v1.Echo/Echo";

/** As the KeyService's serializers do: `create` then `toBinary`. */
function serialize(message: GetKeyRequest): Buffer {
  const bytes = toBinary(GetKeyRequestSchema, create(GetKeyRequestSchema, message));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function deserialize(bytes: Buffer): GetKeyRequest {
  return fromBinary(GetKeyRequestSchema, bytes);
}

const ECHO: grpc.ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: "echo",
  },
};

/** Registers the echo service on `server` (pass as `startServer`'s `configure`). */
export function addEchoService(server: grpc.Server): void {
  server.addService(ECHO, {
    echo: (call: grpc.ServerUnaryCall<GetKeyRequest, GetKeyRequest>, callback: grpc.sendUnaryData<GetKeyRequest>) =>
      callback(null, call.request),
  });
}

/** Calls the echo RPC on `client`'s channel; resolves with the echoed message. */
export function callEcho(client: grpc.Client, request: GetKeyRequest): Promise<GetKeyRequest> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(ECHO_PATH, serialize, deserialize, request, new grpc.Metadata(), {}, (err, response) =>
      err ? reject(err) : resolve(response!),
    );
  });
}
