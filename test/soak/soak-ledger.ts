import type { AcquiredEvent, LivedEvent, SoakEvent } from "./soak-protocol.js";
import { redact } from "./soak-protocol.js";

/**
 * How far a client's send time may run ahead of the server instant it is compared with. All
 * processes share one clock; this only covers the time between taking `Date.now()` and the
 * bytes leaving.
 */
export const SKEW_MS = 25;

/** Everything the soak learnt, per key. */
interface KeyHistory {
  acquired: AcquiredEvent[];
  lived: LivedEvent[];
  /** Earliest successful release per lease id (its send time). */
  released: Map<string, number>;
  /** Earliest instant a successful delete is known to have happened (its answer time). */
  deletedBy: number;
}

/**
 * The ledger of every acquisition, release, delete and keepalive the soak clients saw, checked
 * after the run: no key held under two leases at once, no dead or deleted key handed out or
 * kept alive. O(events log events).
 */
export class Ledger {
  private readonly keys = new Map<string, KeyHistory>();
  readonly violations: string[] = [];
  acquisitions = 0;

  private history(key: string): KeyHistory {
    let h = this.keys.get(key);
    if (!h) this.keys.set(key, (h = { acquired: [], lived: [], released: new Map(), deletedBy: Infinity }));
    return h;
  }

  /** Records one event. O(1). */
  add(event: SoakEvent): void {
    if (event.e === "violation") return void this.violations.push(event.what);
    const h = this.history(event.key);
    if (event.e === "acquired") {
      h.acquired.push(event);
      this.acquisitions++;
    } else if (event.e === "lived") h.lived.push(event);
    else if (event.e === "released") h.released.set(event.leaseId, Math.min(event.sent, h.released.get(event.leaseId) ?? Infinity));
    else h.deletedBy = Math.min(h.deletedBy, event.answered);
  }

  /** Checks every key's history; returns the violations found (also kept in `violations`). */
  check(): string[] {
    for (const [key, h] of this.keys) {
      this.checkLeases(key, h);
      this.checkLife(key, h);
    }
    return this.violations;
  }

  /** Consecutive leases of a key never overlap: the earlier one ended (TTL or release) first. */
  private checkLeases(key: string, h: KeyHistory): void {
    const leases = [...h.acquired].sort((a, b) => a.at - b.at);
    for (let i = 1; i < leases.length; i++) {
      const [prev, next] = [leases[i - 1]!, leases[i]!];
      if (prev.leaseId === next.leaseId) this.violations.push(`key ${redact(key)}: one lease id handed out twice`);
      const ranOut = next.at >= prev.blockedUntil;
      const releasedFirst = (h.released.get(prev.leaseId) ?? Infinity) <= next.at + SKEW_MS;
      if (!ranOut && !releasedFirst) {
        this.violations.push(
          `key ${redact(key)} held twice: acquired at ${next.at} by client ${next.client} while client ${prev.client}'s ` +
            `lease (until ${prev.blockedUntil}) was neither released nor run out`,
        );
      }
    }
  }

  /** A key is handed out or kept alive only while alive and not deleted. */
  private checkLife(key: string, h: KeyHistory): void {
    for (const a of h.acquired) {
      if (a.at > h.deletedBy + SKEW_MS) this.violations.push(`key ${redact(key)} handed out ${a.at - h.deletedBy} ms after it was deleted`);
      if (a.at >= a.expiresAt) this.violations.push(`key ${redact(key)} handed out at or after its own expires_at`);
    }
    for (const l of h.lived) {
      if (l.at > h.deletedBy + SKEW_MS) this.violations.push(`key ${redact(key)} kept alive ${l.at - h.deletedBy} ms after it was deleted`);
    }
    // Walk life and acquisitions in server time: each must find the key alive, given what was seen.
    if (h.lived.length === 0) return; // made before the soak: its life is unknown
    const steps = [
      ...h.lived.map((l) => ({ at: l.at, lived: l as LivedEvent | undefined, expiresAt: l.expiresAt })),
      ...h.acquired.map((a) => ({ at: a.at, lived: undefined, expiresAt: a.expiresAt })),
    ].sort((x, y) => x.at - y.at || (x.lived ? -1 : 1));
    let alive = -Infinity;
    let born = false;
    for (const s of steps) {
      if (born && s.at >= alive) {
        this.violations.push(`key ${redact(key)} ${s.lived ? "kept alive" : "handed out"} ${s.at - alive} ms after it died`);
      }
      // An acquisition's own expires_at is the server's word on the key's life at that instant.
      alive = Math.max(alive, s.expiresAt);
      born ||= s.lived !== undefined;
    }
  }
}
