import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionRequest, ServerReflectionResponseSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { MalformedMessage } from "../grpc/service-definition.js";
import { addTypedService } from "../grpc/typed-server.js";
import type { CallContext, ErrorMapper, ServiceImpl } from "../grpc/typed-server.js";
import { KeyPoolError } from "../pool/index.js";
import { ReflectionIndex } from "./reflection-index.js";
import type { FileAnswer } from "./reflection-index.js";
import { limitReadAhead, readOne, writeFlushed } from "./stream-io.js";
import { StreamRegistry } from "./stream-registry.js";

/** The descriptor set `buf build` writes next to the generated code, with the proto comments. */
const DESCRIPTOR_SET = new URL("../../../gen/keypool.binpb", import.meta.url);
const DESCRIPTOR_SET_FROM_SOURCE = new URL("../../gen/keypool.binpb", import.meta.url);

/** Most reflection streams open at once; each holds at most one answer the client has not read. */
export const MAX_REFLECTION_STREAMS = 100;

function readDescriptorSet(): Buffer {
  try {
    return readFileSync(DESCRIPTOR_SET);
  } catch {
    return readFileSync(DESCRIPTOR_SET_FROM_SOURCE);
  }
}

type Response = MessageInitShape<typeof ServerReflectionResponseSchema>;
type Answer = NonNullable<Response["messageResponse"]>;
type Call = grpc.ServerDuplexStream<ServerReflectionRequest | MalformedMessage, Response>;

function fileResponse(answer: FileAnswer): Answer {
  if ("notFound" in answer) return { case: "errorResponse", value: { errorCode: grpc.status.NOT_FOUND, errorMessage: answer.notFound } };
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: [...answer.files] } };
}

/** The answer to one reflection request. O(1) plus the size of the answer. */
function answer(index: ReflectionIndex, services: readonly string[], request: ServerReflectionRequest): Answer {
  const { messageRequest: r } = request;
  switch (r.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: services.map((name) => ({ name })) } };
    case "fileByFilename":
      return fileResponse(index.fileByFilename(r.value));
    case "fileContainingSymbol":
      return fileResponse(index.fileContainingSymbol(r.value));
    case "fileContainingExtension":
      return fileResponse(index.fileContainingExtension(r.value.containingType, r.value.extensionNumber));
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(r.value);
      if (numbers === undefined) return fileResponse({ notFound: `message type not found: ${r.value.slice(0, 100)}` });
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: numbers } };
    }
    default:
      return { case: "errorResponse", value: { errorCode: grpc.status.INVALID_ARGUMENT, errorMessage: "the request names no question" } };
  }
}

/** Whether a stream's caller may still use it (after an auth reload): undefined, or the error to end it with. */
export type Recheck = (context: CallContext) => Error | undefined;

const shuttingDown = (): KeyPoolError => new KeyPoolError("unavailable", "the server is shutting down");

/**
 * Serves one reflection stream: one request read ahead at most, and the next request is read
 * only after the previous answer reached the client's flow-control window, so a client that
 * sends without reading is held back by HTTP/2 flow control instead of growing the server's
 * memory. Ends OK on half-close, UNAVAILABLE at shutdown, and with the recheck's error when an
 * auth reload no longer allows the caller.
 */
async function reflectionStream(
  deps: { readonly index: ReflectionIndex; readonly services: readonly string[]; readonly streams: StreamRegistry; readonly recheck: Recheck },
  call: Call,
  context: CallContext,
): Promise<void> {
  const { index, services, streams } = deps;
  if (streams.size >= MAX_REFLECTION_STREAMS) {
    throw new KeyPoolError("resource-exhausted", `${streams.size} reflection streams are open (at most ${MAX_REFLECTION_STREAMS}); retry later`);
  }
  limitReadAhead(call);
  const open = streams.enter(() => deps.recheck(context));
  const signal = AbortSignal.any([context.signal, streams.shutdown, open.revoked]);
  try {
    for (let request = await readOne(call, signal); request; request = await readOne(call, signal)) {
      if (request instanceof MalformedMessage) throw request;
      await writeFlushed(call, { validHost: request.host, originalRequest: request, messageResponse: answer(index, services, request) }, signal);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    open.leave();
  }
  if (context.signal.aborted) return; // the client is gone: nobody to tell
  if (open.revoked.aborted) throw open.revoked.reason;
  if (streams.shutdown.aborted) throw shuttingDown();
}

/**
 * gRPC server reflection (v1 and v1alpha), served by keypool itself from the descriptor set that
 * buf compiled (so map entries, imports and comments are exactly protoc's: grpcurl and Go's
 * protodesc accept every file), for `services`. `grpcurl list` and `describe` work without proto
 * files; at most MAX_REFLECTION_STREAMS streams are open at once.
 */
export class Reflection {
  /** Open reflection streams; `close()` ends them (at shutdown). */
  readonly streams = new StreamRegistry();
  private readonly index = new ReflectionIndex(fromBinary(FileDescriptorSetSchema, readDescriptorSet()));

  /** The reflection services themselves (for metrics' series). */
  readonly descriptors = [ReflectionV1, ReflectionV1Alpha] as const;

  constructor(
    private readonly services: readonly string[],
    private readonly recheck: Recheck,
  ) {}

  /** Registers both reflection versions on `server`; both list themselves too. */
  addToServer(server: grpc.Server, onError: ErrorMapper): void {
    const services = [...this.services, ReflectionV1.typeName, ReflectionV1Alpha.typeName];
    const v1: ServiceImpl<typeof ReflectionV1> = {
      serverReflectionInfo: (call, context) => reflectionStream({ index: this.index, services, streams: this.streams, recheck: this.recheck }, call, context),
    };
    addTypedService(server, ReflectionV1, v1, onError);
    // v1alpha's messages are v1's under another package name: same fields, same numbers, same bytes.
    addTypedService(server, ReflectionV1Alpha, v1 as unknown as ServiceImpl<typeof ReflectionV1Alpha>, onError);
  }
}
