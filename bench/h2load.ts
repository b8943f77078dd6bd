import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";

const run = promisify(execFile);

/** h2load's shape: connections x streams in flight per connection, one thread. */
export const H2LOAD_SHAPE = { connections: 4, streams: 16 } as const;

/** One h2load window's outcome (HTTP level: gRPC codes come from the server's metrics). */
export interface H2loadRun {
  readonly reqPerSec: number;
  readonly done: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

/** A gRPC request body as h2load sends it: the 5-byte length prefix, then the message. */
export function grpcFrame<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  const message = toBinary(schema, create(schema, init));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/** Writes `body` to a temp file for h2load's -d (removed when this process exits). */
export function bodyFile(name: string, body: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "keypool-bench-h2load-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

function ms(text: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text ?? "");
  if (!m) return 0;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

/**
 * Drives `http://<address><path>` with nghttp2's h2load (C, so one client core saturates a
 * Node server) for `durationS` after `warmupS`, posting the fixed gRPC `body` with gRPC headers.
 * Bounded by h2load's own duration; killed after twice that.
 */
export async function h2load(address: string, path: string, body: string, durationS: number, warmupS: number): Promise<H2loadRun> {
  const args = [
    "-c", String(H2LOAD_SHAPE.connections), "-m", String(H2LOAD_SHAPE.streams), "-t", "1",
    "-D", String(durationS), "--warm-up-time", String(warmupS),
    "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body, `http://${address}${path}`,
  ];
  const { stdout } = await run("h2load", args, { timeout: (durationS + warmupS) * 2_000 + 10_000 });
  const finished = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout);
  const requests = /requests: \d+ total, \d+ started, (\d+) done/.exec(stdout);
  const timing = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
  if (!finished || !requests) throw new Error(`h2load output not understood: ${stdout.slice(0, 300)}`);
  return { reqPerSec: Number(finished[1]), done: Number(requests[1]), meanMs: ms(timing?.[3]), maxMs: ms(timing?.[2]) };
}
