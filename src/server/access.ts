import * as grpc from "@grpc/grpc-js";
import { mayCall } from "./auth.js";
import type { Role, TokenRegistry } from "./auth.js";

/** Metadata key carrying the caller's role to the handlers; always set by the server itself. */
export const ROLE_METADATA = "x-keypool-role";
/**
 * Metadata key carrying the pools the caller's token is limited to (comma-separated) to the
 * handlers; absent when it may use every pool. Always set (or removed) by the server itself.
 */
export const POOLS_METADATA = "x-keypool-pools";

/** Who may call what. */
export interface AccessPolicy {
  /** Bearer tokens; undefined: no auth configured (loopback clients only, unless allowed). */
  readonly tokens: TokenRegistry | undefined;
  /** Without tokens, serve non-loopback peers too (explicit opt-in). */
  readonly allowInsecureRemote: boolean;
  /** Reflection without a token ("open") or with any valid token ("authenticated"). */
  readonly reflection: "open" | "authenticated";
}

/** The outcome of an access check: the role (and the pools, when limited) of an allowed call. */
export type Verdict =
  | { readonly role: Role; readonly pools?: readonly string[] | undefined }
  | { readonly code: grpc.status; readonly details: string };

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. O(1). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || a.startsWith("127.");
}

function bearer(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get("authorization")[0];
  if (typeof value !== "string") return undefined;
  const match = /^bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/**
 * Decides one call: health is always open; reflection per policy (without tokens, only to the
 * peers served at all); with tokens, the token's role
 * must allow the method; without tokens, only loopback peers (or all, when explicitly allowed).
 * O(tokens).
 */
export function decide(policy: AccessPolicy, path: string, metadata: grpc.Metadata, peer: string | undefined): Verdict {
  if (path.startsWith("/grpc.health.v1.Health/")) return { role: "reader" };
  const reflection = path.startsWith("/grpc.reflection.");
  // Without tokens, "open" reflection is open to the peers served at all (loopback by default).
  if (!policy.tokens) {
    if (isLoopback(peer) || policy.allowInsecureRemote) return { role: "admin" };
    return {
      code: grpc.status.UNAUTHENTICATED,
      details: "this keypool server has no --auth-file and serves loopback clients only: " +
        "configure bearer tokens with --auth-file (see README, Security) or start it with --allow-insecure-remote",
    };
  }
  if (reflection && policy.reflection === "open") return { role: "reader" };
  const token = bearer(metadata);
  if (!token) {
    return { code: grpc.status.UNAUTHENTICATED, details: 'missing bearer token: send metadata "authorization: Bearer <token>"' };
  }
  const principal = policy.tokens.authenticate(token);
  if (!principal) return { code: grpc.status.UNAUTHENTICATED, details: "unknown bearer token" };
  if (reflection || mayCall(principal.role, path)) return { role: principal.role, pools: principal.pools };
  const method = path.slice(path.lastIndexOf("/") + 1);
  return { code: grpc.status.PERMISSION_DENIED, details: `role ${principal.role} may not call ${method}` };
}

/**
 * Bytes of metadata as sent: each name once, plus every value of it (grpc-js splits a header's
 * comma-separated values into many, so all of them count), `-bin` values at their base64 size.
 * O(values).
 */
export function metadataBytes(metadata: grpc.Metadata): number {
  let total = 0;
  for (const [name, values] of Object.entries(metadata.toJSON())) {
    total += name.length + values.length - 1; // the name and the commas between its values
    for (const value of values) total += typeof value === "string" ? value.length : Math.ceil(value.length / 3) * 4;
  }
  return total;
}

/** A call refused by the access policy, as an error: handlers throw it to end a stream. */
export class CallRefused extends Error {
  override readonly name = "CallRefused";
  constructor(readonly code: grpc.status, details: string) {
    super(details);
  }
}

/** Puts an allowed verdict into the call's metadata for the handlers (replacing what a client sent). */
function grant(metadata: grpc.Metadata, verdict: Extract<Verdict, { role: Role }>): void {
  metadata.set(ROLE_METADATA, verdict.role);
  if (verdict.pools) metadata.set(POOLS_METADATA, verdict.pools.join(","));
  else metadata.remove(POOLS_METADATA);
}

/**
 * Whether the call whose metadata this is may use pool `pool` (its full name): undefined when
 * it may, else PERMISSION_DENIED naming the pool. O(pools of the token).
 */
export function poolRefusal(metadata: grpc.Metadata, pool: string): CallRefused | undefined {
  const limited = metadata.get(POOLS_METADATA)[0];
  if (typeof limited !== "string") return undefined;
  const allowed = limited.split(",");
  if (allowed.includes(pool)) return undefined;
  return new CallRefused(grpc.status.PERMISSION_DENIED, `this token may not use pool "${pool}" (its pools: ${allowed.join(", ")}; see "pools" in the auth file)`);
}

/**
 * Asks `policy` again about a call that was allowed when it started (after an auth file reload):
 * undefined while it is still allowed (its pools then follow the reloaded file), else why not.
 * O(tokens).
 */
export function recheck(policy: AccessPolicy, path: string, metadata: grpc.Metadata, peer: string | undefined): CallRefused | undefined {
  const verdict = decide(policy, path, metadata, peer);
  if ("role" in verdict) {
    grant(metadata, verdict);
    return undefined;
  }
  const why = verdict.code === grpc.status.UNAUTHENTICATED ? "its bearer token is no longer accepted (auth file reloaded)" : verdict.details;
  return new CallRefused(verdict.code, `this stream ended: ${why}`);
}

/**
 * A grpc-js server interceptor enforcing the metadata size limit and `policy` before any handler
 * runs; the caller's role reaches handlers in `x-keypool-role` metadata (a client-sent value is
 * overwritten).
 */
export function accessInterceptor(policy: AccessPolicy, maxMetadataBytes: number): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            const size = metadataBytes(metadata);
            const verdict: Verdict = size > maxMetadataBytes
              ? { code: grpc.status.RESOURCE_EXHAUSTED, details: `request metadata is ${size} bytes; the limit is ${maxMetadataBytes} (--max-metadata-bytes)` }
              : decide(policy, method.path, metadata, call.getConnectionInfo().remoteAddress);
            if ("role" in verdict) {
              grant(metadata, verdict);
              proceed(metadata);
            } else {
              call.sendStatus({ code: verdict.code, details: verdict.details, metadata: new grpc.Metadata() });
            }
          },
        }),
    });
}
