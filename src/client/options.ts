import * as grpc from "@grpc/grpc-js";
import { DEFAULT_RETRY_POLICY } from "./retry.js";
import type { RetryPolicy } from "./retry.js";
import { systemScheduler } from "./scheduler.js";
import type { Scheduler } from "./scheduler.js";

/** TLS material, PEM-encoded. An empty object means TLS with the system's root CAs. */
export interface TlsOptions {
  /** Root CA(s) to trust instead of the system's. */
  readonly ca?: Buffer;
  /** Client certificate chain, for mutual TLS (with `key`). */
  readonly cert?: Buffer;
  /** Client private key, for mutual TLS (with `cert`). */
  readonly key?: Buffer;
}

/** How `createKeyPoolClient` connects and behaves. Every field is optional. */
export interface KeyPoolClientOptions {
  /** Sent as `authorization: Bearer <token>` metadata on every call and stream. */
  readonly token?: string;
  /** Connect over TLS. Without it the channel is plaintext (insecure), for local and in-cluster use. */
  readonly tls?: TlsOptions;
  /** Deadline of every call that names none; default 10 s. */
  readonly defaultTimeoutMs?: number;
  /**
   * The pool's keepalive TTL, for `hold()`. Default: asked once with GetPoolStats; set it when the
   * token may not call GetPoolStats (the server's worker role).
   */
  readonly keepaliveTtlMs?: number;
  /** Retries of safe calls and `hold()` reconnect backoff; `false` disables retries. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** Passed to the grpc-js channel as is (e.g. `grpc.initial_reconnect_backoff_ms`). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** grpc-js client interceptors (tracing, logging), run on every attempt of every call. */
  readonly interceptors?: readonly grpc.Interceptor[];
  /** Time and timers for backoff and `hold()`; tests inject a manual one. */
  readonly scheduler?: Scheduler;
  /** Randomness for backoff jitter, in [0, 1); default `Math.random`. */
  readonly random?: () => number;
}

/** The options with every default filled in. */
export interface ResolvedOptions {
  readonly credentials: grpc.ChannelCredentials;
  readonly metadata: () => grpc.Metadata;
  readonly defaultTimeoutMs: number;
  readonly keepaliveTtlMs: number | undefined;
  readonly retry: RetryPolicy;
  /** Backoff of `hold()` reconnects: the retry policy's, even when retries are disabled. */
  readonly reconnect: RetryPolicy;
  readonly channelOptions: grpc.ChannelOptions;
  readonly scheduler: Scheduler;
  readonly random: () => number;
}

/** Fills in defaults and validates once; throws a TypeError naming the bad option. */
export function resolveOptions(options: KeyPoolClientOptions): ResolvedOptions {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  if (!(defaultTimeoutMs > 0)) throw new TypeError(`defaultTimeoutMs must be positive (got ${defaultTimeoutMs})`);
  if (options.token !== undefined && !/^[\x21-\x7e]+$/.test(options.token)) {
    throw new TypeError("token must be non-empty printable ASCII without spaces");
  }
  if (options.keepaliveTtlMs !== undefined && !(options.keepaliveTtlMs >= 3)) {
    throw new TypeError(`keepaliveTtlMs must be at least 3 ms (got ${options.keepaliveTtlMs})`);
  }
  const reconnect = { ...DEFAULT_RETRY_POLICY, ...(options.retry || {}) };
  if (!(reconnect.maxAttempts >= 1) || !(reconnect.initialBackoffMs > 0) || !(reconnect.multiplier >= 1)) {
    throw new TypeError("retry needs maxAttempts >= 1, initialBackoffMs > 0 and multiplier >= 1");
  }
  return {
    credentials: channelCredentials(options.tls),
    metadata: () => callMetadata(options.token),
    defaultTimeoutMs,
    keepaliveTtlMs: options.keepaliveTtlMs,
    retry: options.retry === false ? { ...reconnect, maxAttempts: 1 } : reconnect,
    reconnect,
    // A fresh object: grpc-js deletes `interceptors` from the options it is given.
    channelOptions: { ...options.channelOptions, interceptors: [...(options.interceptors ?? [])] },
    scheduler: options.scheduler ?? systemScheduler,
    random: options.random ?? Math.random,
  };
}

/** Plaintext without `tls`; TLS (mutual when `cert` and `key` are given) with it. */
export function channelCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new TypeError("tls.cert and tls.key go together (mutual TLS)");
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** The metadata sent with each call: the bearer token, if any. */
export function callMetadata(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}
