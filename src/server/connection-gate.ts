import type { Clock } from "../clock.js";

/** How many connections the server takes, and how many early cancels it forgives a peer. */
export interface ConnectionLimits {
  /** Most open connections (`--max-connections`); past it new ones are closed at once. */
  readonly maxConnections: number;
  /** Most open connections from one IP address (`--max-connections-per-peer`). */
  readonly maxConnectionsPerPeer: number;
  /**
   * Calls one IP address may end before their request message arrived, per `RESET_WINDOW_MS`
   * (`--max-resets`): cancelled (HTTP/2 RST_STREAM) or refused by the server at their HEADERS
   * (see `ConnectionGuard.interceptor`); past it, every connection of that address is closed and
   * it is refused for `PENALTY_MS`.
   */
  readonly maxResets: number;
}

/** The window the reset budget refills over. */
export const RESET_WINDOW_MS = 10_000;
/** How long an address that spent its reset budget is refused. */
export const PENALTY_MS = 10_000;

/** Anything the gate can close. */
export interface Closable {
  destroy(): void;
}

interface Peer {
  readonly connections: Set<Closable>;
  /** Resets left; refills continuously, `maxResets` per window. */
  tokens: number;
  refilledAt: number;
  bannedUntil: number;
}

/** 127.0.0.1 and ::ffff:127.0.0.1 are one peer. O(1). */
export function peerOf(address: string | undefined): string {
  if (!address) return "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * Admission control for connections, per server and per IP address, and a token-bucket budget
 * per address of calls ended before their request arrived (HTTP/2 rapid reset). Time from the injected clock. O(1) per
 * admit, leave and reset, amortized (refused addresses are forgotten in ban order).
 */
export class ConnectionGate {
  private readonly peers = new Map<string, Peer>();
  /** Banned addresses with no connection left, in ban order (= expiry order: one penalty). */
  private readonly banned = new Map<string, number>();
  private open = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly clock: Clock,
  ) {}

  /** Open connections. */
  get size(): number {
    return this.open;
  }

  /** Tracks `connection` from `address`, or says why it is refused (then it is not tracked). */
  admit(address: string, connection: Closable): string | undefined {
    const now = this.clock.now();
    this.forgetExpiredBans(now);
    const peer = this.peers.get(address);
    if ((peer ? peer.bannedUntil : this.banned.get(address) ?? 0) > now) return `${address} cancelled too many calls (--max-resets); refused for ${PENALTY_MS / 1000} s`;
    if (this.open >= this.limits.maxConnections) return `${this.open} connections are open (--max-connections)`;
    if (peer && peer.connections.size >= this.limits.maxConnectionsPerPeer) {
      return `${address} has ${peer.connections.size} connections open (--max-connections-per-peer)`;
    }
    const tracked = peer ?? this.newPeer(address, now);
    this.banned.delete(address);
    tracked.connections.add(connection);
    this.open++;
    return undefined;
  }

  /** Stops tracking `connection` (it closed). Idempotent. */
  leave(address: string, connection: Closable): void {
    const peer = this.peers.get(address);
    if (!peer?.connections.delete(connection)) return;
    this.open--;
    if (peer.connections.size > 0) return;
    this.peers.delete(address);
    if (peer.bannedUntil > this.clock.now()) this.banned.set(address, peer.bannedUntil);
  }

  /**
   * Counts one call `address` cancelled before it was answered. When that spends its budget,
   * closes every connection of the address, refuses it for the penalty and returns true.
   */
  reset(address: string): boolean {
    const peer = this.peers.get(address);
    if (!peer || peer.bannedUntil > this.clock.now()) return false;
    const now = this.clock.now();
    const max = this.limits.maxResets;
    peer.tokens = Math.min(max, peer.tokens + ((now - peer.refilledAt) * max) / RESET_WINDOW_MS);
    peer.refilledAt = now;
    if (--peer.tokens >= 0) return false;
    peer.bannedUntil = now + PENALTY_MS;
    for (const connection of [...peer.connections]) connection.destroy();
    return true;
  }

  private newPeer(address: string, now: number): Peer {
    const peer: Peer = { connections: new Set(), tokens: this.limits.maxResets, refilledAt: now, bannedUntil: 0 };
    this.peers.set(address, peer);
    return peer;
  }

  private forgetExpiredBans(now: number): void {
    for (const [address, until] of this.banned) {
      if (until > now) break;
      this.banned.delete(address);
    }
  }
}
