import { createFileRegistry, fromBinary, fromJson, toJson } from "@bufbuild/protobuf";
import type { DescMethod, DescService, FileRegistry, JsonValue } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionRequest, ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import { methodDefinition } from "../../src/grpc/service-definition.js";

/** What one dynamic call printed (JSON lines, as grpcurl prints them) and how it ended. */
export interface Invocation {
  readonly responses: string[];
  readonly code: grpc.status;
  readonly details: string;
}

/**
 * A client that knows nothing of keypool's protos and learns everything over server
 * reflection, as grpcurl does: `list`, `describe`, and calls with a JSON request in and JSON
 * responses out, with descriptors resolved by protobuf-es (which refuses unresolvable imports).
 */
export class ReflectionClient {
  private readonly reflection: TypedClient<typeof ServerReflection>;
  private readonly channel: grpc.Client;

  constructor(address: string) {
    this.reflection = createTypedClient(ServerReflection, address);
    this.channel = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** One request/response exchange on a reflection stream. */
  async ask(request: MessageInitShape<typeof ServerReflectionRequestSchema>): Promise<ServerReflectionResponse> {
    const call = this.reflection.serverReflectionInfo();
    call.on("error", () => {}); // the status after the answer is not news
    const response = new Promise<ServerReflectionResponse>((resolve, reject) => {
      call.once("data", resolve);
      call.once("error", reject);
    });
    call.write(request);
    call.end();
    return response;
  }

  /** The services the server lists (`grpcurl list`). */
  async list(): Promise<string[]> {
    const { messageResponse: r } = await this.ask({ messageRequest: { case: "listServices", value: "*" } });
    if (r.case !== "listServicesResponse") throw new Error(`list: ${JSON.stringify(r.value)}`);
    return r.value.service.map((s) => s.name);
  }

  /** The encoded files answering a file request (the file itself first, then its imports). */
  async files(messageRequest: ServerReflectionRequest["messageRequest"]): Promise<Uint8Array[]> {
    const { messageResponse: r } = await this.ask({ messageRequest } as MessageInitShape<typeof ServerReflectionRequestSchema>);
    if (r.case !== "fileDescriptorResponse") throw new Error(`${messageRequest.case} ${String(messageRequest.value)}: ${r.case === "errorResponse" ? r.value.errorMessage : r.case}`);
    return r.value.fileDescriptorProto;
  }

  /** A registry of the file declaring `symbol` and everything it imports (fails on a missing import). */
  async registryFor(symbol: string): Promise<FileRegistry> {
    const encoded = await this.files({ case: "fileContainingSymbol", value: symbol });
    const [first, ...imports] = encoded.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const byName = new Map(imports.map((f) => [f.name, f]));
    return createFileRegistry(first!, (name) => byName.get(name));
  }

  /** What `grpcurl describe SYMBOL` shows: the service or message, its methods or fields, its comments. */
  async describe(symbol: string): Promise<string> {
    const registry = await this.registryFor(symbol);
    const desc = registry.get(symbol);
    if (!desc) throw new Error(`describe: ${symbol} not in its own file`);
    if (desc.kind === "service") {
      const comment = (path: number[]): string => desc.file.proto.sourceCodeInfo?.location.find((l) => l.path.join() === path.join())?.leadingComments ?? "";
      const index = desc.file.services.indexOf(desc);
      const rpcs = desc.methods.map((m, i) => {
        const stream = (on: boolean): string => (on ? "stream " : "");
        const kind = m.methodKind;
        return `${comment([6, index, 2, i])}  rpc ${m.name} ( ${stream(kind === "client_streaming" || kind === "bidi_streaming")}.${m.input.typeName} ) returns ( ${stream(kind === "server_streaming" || kind === "bidi_streaming")}.${m.output.typeName} );`;
      });
      return `${symbol} is a service:\n${comment([6, index])}service ${desc.name} {\n${rpcs.join("\n")}\n}`;
    }
    if (desc.kind === "message") return `${symbol} is a message:\nmessage ${desc.name} {\n${desc.fields.map((f) => `  ${f.fieldKind} ${f.name} = ${f.number};`).join("\n")}\n}`;
    return `${symbol} is a ${desc.kind}`;
  }

  /** Calls `Service/Method` with `json` (grpcurl -d; none: `{}`), half-closes, prints every response as JSON. */
  async invoke(target: string, json: string | undefined): Promise<Invocation> {
    const [serviceName, methodName] = target.split("/");
    const registry = await this.registryFor(serviceName!);
    const service = registry.getService(serviceName!) as DescService | undefined;
    const method = service?.methods.find((m) => m.name === methodName) as DescMethod | undefined;
    if (!method) throw new Error(`${target}: no such method in the reflected descriptors`);
    const request = fromJson(method.input, JSON.parse(json ?? "{}") as JsonValue, { registry });
    const def = methodDefinition(method);
    const responses: string[] = [];
    const print = (message: unknown): void => void responses.push(JSON.stringify(toJson(method.output, message as never, { registry })));
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      if (!def.requestStream && !def.responseStream) {
        const call = this.channel.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, (_err, res) => res && print(res));
        call.on("status", resolve);
      } else {
        const call = def.requestStream
          ? this.channel.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize)
          : this.channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request);
        call.on("data", print);
        call.on("error", () => {});
        call.on("status", resolve);
        if (def.requestStream) {
          const duplex = call as grpc.ClientDuplexStream<unknown, unknown>;
          duplex.write(request);
          duplex.end();
        }
      }
    });
    return { responses, code: status.code, details: status.details };
  }

  close(): void {
    this.reflection.close();
    this.channel.close();
  }
}
