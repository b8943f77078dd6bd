import type * as grpc from "@grpc/grpc-js";
import type { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

/**
 * One open health Watch stream. A status is written when the transport can take it; while it
 * cannot (a client that does not read), only the latest status waits, so a watcher holds at most
 * one message however often the status flips. Leaves its owner's set when the client goes away.
 * O(1) per status.
 */
export class HealthWatch {
  private pending: Status | undefined;
  private blocked = false;
  private ended = false;

  constructor(
    private readonly call: grpc.ServerWritableStream<unknown, unknown>,
    /** Whether the watched service is one health answers for (else it stays SERVICE_UNKNOWN). */
    readonly known: boolean,
    private readonly onGone: () => void,
  ) {
    call.on("cancelled", () => this.gone());
    call.on("close", () => this.gone());
    call.on("drain", () => {
      this.blocked = false;
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined) this.send(next);
    });
  }

  /** Sends `status` now, or as soon as the transport drains (replacing any waiting status). */
  send(status: Status): void {
    if (this.ended) return;
    if (this.blocked) {
      this.pending = status;
      return;
    }
    if (!this.call.write({ status })) this.blocked = true;
  }

  /** Ends the stream with `status` after what was written. Idempotent. */
  end(status: Partial<grpc.StatusObject>): void {
    if (this.ended) return;
    this.ended = true;
    this.call.emit("error", status);
  }

  private gone(): void {
    this.ended = true;
    this.pending = undefined;
    this.onGone();
  }
}
