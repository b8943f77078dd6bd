import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/**
 * What a request deserializer returns instead of throwing when the bytes are not a valid message:
 * grpc-js would answer INTERNAL; the handler wrappers answer INVALID_ARGUMENT instead.
 */
export class MalformedMessage {
  constructor(
    readonly typeName: string,
    readonly reason: string,
  ) {}
}

/**
 * A hand-written codec for one method's hot messages: each side answers undefined for what it
 * does not handle, and the generic (protobuf-es) codec takes over. Both must give exactly what
 * the generic one would.
 */
export interface FastCodec {
  readonly encodeResponse?: (value: never) => Buffer | undefined;
  readonly decodeRequest?: (bytes: Buffer) => unknown;
}

/** Serializes a message (or a message init object) of `schema` to bytes. */
function serializer(schema: DescMessage, fast?: (value: never) => Buffer | undefined): (value: unknown) => Buffer {
  return (value) => {
    const encoded = fast?.(value as never);
    if (encoded !== undefined) return encoded;
    const bytes = toBinary(schema, create(schema, value as never));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Parses bytes as `schema`; malformed bytes give a `MalformedMessage` when `lenient`. */
function deserializer(schema: DescMessage, lenient: boolean, fast?: (bytes: Buffer) => unknown): (bytes: Buffer) => unknown {
  return (bytes) => {
    const decoded = fast?.(bytes);
    if (decoded !== undefined) return decoded;
    try {
      // Unknown fields are dropped, not kept: keeping half a million tiny ones costs ~10x the CPU.
      return fromBinary(schema, bytes, { readUnknownFields: false });
    } catch (err) {
      if (!lenient) throw err;
      return new MalformedMessage(schema.typeName, err instanceof Error ? err.message : String(err));
    }
  };
}

/** The grpc-js definition of one method (path, stream flags, serializers; `fast` serves its side). */
export function methodDefinition(method: DescMethod, fast?: FastCodec): MethodDefinition<unknown, unknown> {
  const kind = method.methodKind;
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: kind === "client_streaming" || kind === "bidi_streaming",
    responseStream: kind === "server_streaming" || kind === "bidi_streaming",
    requestSerialize: serializer(method.input),
    requestDeserialize: deserializer(method.input, true, fast?.decodeRequest),
    responseSerialize: serializer(method.output, fast?.encodeResponse),
    responseDeserialize: deserializer(method.output, false),
    originalName: method.localName,
  };
}

/**
 * Builds the grpc-js `ServiceDefinition` of a protobuf-es service descriptor: the bridge that
 * lets grpc-js serve and call services described by `buf generate` output, keyed by each
 * method's local (camelCase) name; `fast` gives hand-written codecs by that name. O(methods).
 */
export function serviceDefinition(service: DescService, fast: Readonly<Record<string, FastCodec>> = {}): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) definition[method.localName] = methodDefinition(method, fast[method.localName]);
  return definition as ServiceDefinition;
}
