import { parseArgs } from "node:util";
import { parseDuration } from "../../src/cli/duration.js";

/** What `npm run soak` was asked to do. */
export interface SoakOptions {
  readonly durationMs: number;
  readonly clients: number;
  readonly keys: number;
  /** A running server to soak; undefined: start one in a child process. */
  readonly address: string | undefined;
  /** TTLs of the server the soak starts (short, so auto-release and expiry happen often). */
  readonly blockTtl: string;
  readonly keepaliveTtl: string;
  readonly seed: number;
}

/** The usage line printed on a bad flag. */
export const SOAK_USAGE =
  "usage: npm run soak -- [--duration 30s] [--clients 8] [--keys 2000] [--addr 127.0.0.1:PORT] " +
  "[--block-ttl 2s] [--keepalive-ttl 5s] [--seed N]";

/** True for 127.0.0.0/8, ::1 and localhost: the soak never leaves the machine. */
export function isLoopbackAddress(address: string): boolean {
  const host = address.startsWith("[") ? address.slice(1, address.indexOf("]")) : address.slice(0, address.lastIndexOf(":"));
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function positive(name: string, text: string, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) throw new Error(`--${name} "${text}": expected a whole number from 1 to ${max}`);
  return n;
}

function duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new Error(`--${name} "${text}": expected a duration like 30s, 2m or 1500ms`);
  return ms;
}

/** Parses and validates the soak's flags; throws with a one-line message naming the flag. */
export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: "string", default: "30s" },
      clients: { type: "string", default: "8" },
      keys: { type: "string", default: "2000" },
      addr: { type: "string" },
      "block-ttl": { type: "string", default: "2s" },
      "keepalive-ttl": { type: "string", default: "5s" },
      seed: { type: "string", default: "1" },
    },
    strict: true,
    allowPositionals: false,
  });
  const address = values.addr;
  if (address !== undefined && !isLoopbackAddress(address)) {
    throw new Error(`--addr "${address}": the soak only talks to loopback addresses (127.0.0.1:PORT, [::1]:PORT, localhost:PORT)`);
  }
  duration("block-ttl", values["block-ttl"]!);
  duration("keepalive-ttl", values["keepalive-ttl"]!);
  return {
    durationMs: Math.min(duration("duration", values.duration!), 3_600_000),
    clients: positive("clients", values.clients!, 64),
    keys: positive("keys", values.keys!, 1_000_000),
    address,
    blockTtl: values["block-ttl"]!,
    keepaliveTtl: values["keepalive-ttl"]!,
    seed: positive("seed", values.seed!, 2 ** 31),
  };
}
