import { readFileSync } from "node:fs";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

/** The descriptor set `buf build` writes next to the generated code, with the proto comments. */
const DESCRIPTOR_SET = new URL("../../../gen/keypool.binpb", import.meta.url);
const DESCRIPTOR_SET_FROM_SOURCE = new URL("../../gen/keypool.binpb", import.meta.url);

function readDescriptorSet(): Buffer {
  try {
    return readFileSync(DESCRIPTOR_SET);
  } catch {
    return readFileSync(DESCRIPTOR_SET_FROM_SOURCE);
  }
}

/**
 * Adds gRPC server reflection (v1 and v1alpha) for the KeyService and the health service, so
 * `grpcurl list` and `grpcurl describe` work without proto files; descriptors keep the proto
 * comments, so `describe` shows the API docs.
 */
export function addReflection(server: grpc.Server): void {
  const set = fromBinary(FileDescriptorSetSchema, readDescriptorSet());
  const keypoolFiles = set.file.map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  const definition = { "keypool.v1": { fileDescriptorProtos: keypoolFiles } };
  new ReflectionService(definition as never).addToServer(server);
}
