import type * as grpc from "@grpc/grpc-js";
import type { KeepAliveRequest, KeepAliveResponse, KeepAliveResult, KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { KeepAliveRequestSchema } from "../../gen/keypool/v1/keypool_pb.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";

type Pending = { readonly resolve: (results: KeepAliveResult[]) => void; readonly reject: (err: unknown) => void };

/**
 * One KeepAlive stream used request by request: `send` resolves with the results of its own
 * response (the server answers in order), or rejects with the stream's error when it ends first;
 * after that the stream is `ended` and the caller opens a new one, as a worker reconnects.
 */
export class KeepAliveStream {
  private readonly call: grpc.ClientDuplexStream<MessageInitShape<typeof KeepAliveRequestSchema> | KeepAliveRequest, KeepAliveResponse>;
  private readonly pending: Pending[] = [];
  private failure: unknown;
  private closed = false;

  constructor(client: TypedClient<typeof KeyService>) {
    this.call = client.keepAlive();
    this.call.on("data", (response: KeepAliveResponse) => this.pending.shift()?.resolve(response.results));
    this.call.on("error", (err) => this.end(err));
    // The status ends the stream in every case (an error comes with one too).
    this.call.on("status", (status: grpc.StatusObject) => this.end(Object.assign(new Error(status.details), status)));
  }

  /** Whether the stream ended (error or end): open a new one. */
  get ended(): boolean {
    return this.failure !== undefined;
  }

  /** Sends one request; resolves with its results, in the keys' order. */
  send(keys: readonly string[]): Promise<KeepAliveResult[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.call.write({ keys: [...keys] });
    });
  }

  /** Half-closes the stream (and cancels it if the server does not end it). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.failure === undefined) this.call.end();
    this.call.cancel();
  }

  private end(err: unknown): void {
    this.failure ??= err;
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }
}
