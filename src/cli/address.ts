import { shownValue } from "./argv.js";
import { SERVE_FLAGS } from "./serve-flags.js";
import { UsageError } from "./output.js";

/** The port `--addr HOST` dials: the one `keypool serve` listens on by default. */
export const DEFAULT_PORT = Number(SERVE_FLAGS.port.default);

/**
 * The gRPC target for `--addr`: `host:port` and `[v6]:port` as given; a bare host or IPv6
 * address gets port 50051 (grpc-js would otherwise dial 443); `unix:` and other `scheme:`
 * targets pass through. A bad port is a UsageError naming `flag` (or its variable). O(length).
 */
export function dialTarget(addr: string, flag = "--addr"): string {
  const text = addr.trim();
  if (/^(dns|unix|unix-abstract|ipv4|ipv6|vsock):/.test(text)) return text;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  const [host, port] = bracketed
    ? [`[${bracketed[1]}]`, bracketed[2]]
    : text.split(":").length > 2
      ? [`[${text}]`, undefined] // a bare IPv6 address has no room for a port
      : (text.split(":") as [string, string | undefined]);
  if (!host || host === "[]") throw new UsageError(`invalid ${shownValue(flag, addr)}: expected HOST or HOST:PORT, e.g. localhost:50051`);
  if (port === undefined) return `${host}:${DEFAULT_PORT}`;
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65_535)) throw new UsageError(`invalid ${shownValue(flag, addr)}: the port must be a number from 1 to 65535`);
  return `${host}:${n}`;
}
