import type * as grpc from "@grpc/grpc-js";
import type { ConnectionLimits } from "./connection-gate.js";

/** Every limit the server enforces, with a flag each (see README, Security). */
export interface ServerLimits extends ConnectionLimits {
  /** Largest request message, bytes (`--max-request-bytes`); beyond: RESOURCE_EXHAUSTED. */
  readonly maxRequestBytes: number;
  /** Largest request metadata, bytes (`--max-metadata-bytes`); checked before auth. */
  readonly maxMetadataBytes: number;
  /** Most keys one GenerateKeys may ask for (`--max-generate`, at most 1000). */
  readonly maxGenerate: number;
  /** Most keys one KeepAlive stream message may name (`--max-keepalive-keys`, at most 1000). */
  readonly maxKeepAliveKeys: number;
  /** Most KeepAlive streams open at once on this server (`--max-streams`). */
  readonly maxStreams: number;
  /** Most AcquireKey calls waiting at once (`--max-waiters`). */
  readonly maxWaiters: number;
  /** Most health Watch streams open at once (`--max-health-watches`); health needs no token. */
  readonly maxHealthWatches: number;
  /** Most concurrent HTTP/2 streams (calls) per connection (`--max-calls-per-connection`). */
  readonly maxCallsPerConnection: number;
  /** The server pings idle connections this often (`--http2-ping-interval`). */
  readonly pingIntervalMs: number;
  /** ... and drops them when a ping is not answered within this (`--http2-ping-timeout`). */
  readonly pingTimeoutMs: number;
  /** Clients pinging more often than this are sent GOAWAY (`--http2-min-client-ping-interval`). */
  readonly minClientPingIntervalMs: number;
}

/** Defaults that suit a laptop and a production pool alike. */
export const DEFAULT_LIMITS: ServerLimits = {
  // The largest legitimate request, a 1,000-key KeepAlive, is ~29 KB.
  maxRequestBytes: 64 * 1024,
  maxMetadataBytes: 16 * 1024,
  maxGenerate: 1000,
  maxKeepAliveKeys: 1000,
  maxStreams: 10_000,
  maxWaiters: 10_000,
  maxHealthWatches: 1_000,
  maxCallsPerConnection: 2_000,
  // An idle connection costs ~30 KB: 2,000 of them took 60 MB of RSS (npm run soak:floods).
  maxConnections: 2_000,
  maxConnectionsPerPeer: 200,
  // Per address and 10 s; nghttp2 on its own allows 1,000 per connection, and a reconnect.
  maxResets: 200,
  pingIntervalMs: 60_000,
  pingTimeoutMs: 20_000,
  minClientPingIntervalMs: 10_000,
};

/** The grpc-js server options that enforce the transport-level limits. */
export function channelOptions(limits: ServerLimits): grpc.ServerOptions {
  return {
    "grpc.max_receive_message_length": limits.maxRequestBytes,
    "grpc.max_concurrent_streams": limits.maxCallsPerConnection,
    "grpc.keepalive_time_ms": limits.pingIntervalMs,
    "grpc.keepalive_timeout_ms": limits.pingTimeoutMs,
    "grpc.http2.min_ping_interval_without_data_ms": limits.minClientPingIntervalMs,
    "grpc.keepalive_permit_without_calls": 1,
  };
}
