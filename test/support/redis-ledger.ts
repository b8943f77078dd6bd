/**
 * A client-side ledger of every key a load test saw, to catch the two failures a shared pool must
 * never show: a key held twice at once, and a dead or deleted key served.
 *
 * Times: the servers judge deadlines by Redis TIME and the ledger by Date.now(); both read the
 * same host's wall clock, so they compare directly, within `toleranceMs` (millisecond rounding).
 * The server's own time of an acquisition is blocked_until - block TTL, and of a keepalive
 * expires_at - keepalive TTL, so the ledger never guesses when a call reached the server.
 * Every check leans towards "no violation" where the ledger cannot know (a call in flight, a call
 * that failed and may or may not have happened), so a violation reported is a real one.
 */

/** What the ledger needs from an acquired key (times in ms since the epoch). */
export interface Acquired {
  readonly key: string;
  readonly leaseId: string;
  readonly blockedUntil: number;
  readonly expiresAt: number;
}

/** The outcome of one keepalive of one key: its new life, not found, or failed (unknown). */
export type KeepAliveOutcome = { readonly expiresAt: number } | "not-found" | "failed";

interface Lease {
  readonly leaseId: string;
  /** The server's time of the acquisition. */
  readonly at: number;
  readonly blockedUntil: number;
  /** When a release of this lease was first sent (client time): from then on it may be free. */
  releaseSentAt?: number;
}

interface KeyRecord {
  /** The key, redacted for messages (never a whole key). */
  readonly name: string;
  readonly leases: Lease[];
  /** The latest life any response showed. */
  life: number;
  /** The latest life a failed keepalive could have set (its failure time + TTL). */
  maybeLife: number;
  keepalivesInFlight: number;
  /** When a delete of the key was answered OK (client time). */
  deletedAt?: number;
}

/** How many of each interesting event the ledger saw: proof the load exercised the rules. */
export interface LedgerCounts {
  acquisitions: number;
  /** Re-acquired after its previous lease was released. */
  afterRelease: number;
  /** Re-acquired after its previous lease ran out (automatic release). */
  afterAutoRelease: number;
  /** Calls answered NOT_FOUND for a key the ledger knew had died. */
  deadRefused: number;
  /** Calls answered NOT_FOUND for a key the ledger knew was deleted. */
  deletedRefused: number;
}

/** Settings: the servers' TTLs and the clock tolerance. */
export interface LedgerOptions {
  readonly blockTtlMs: number;
  readonly keepaliveTtlMs: number;
  readonly toleranceMs?: number;
}

/** Keys remembered for random picks (keepalives and deletes of keys others may hold). */
const RECENT = 256;

/** The ledger. Every method is O(leases of the key), a handful in a test of a few seconds. */
export class Ledger {
  readonly violations: string[] = [];
  readonly counts: LedgerCounts = { acquisitions: 0, afterRelease: 0, afterAutoRelease: 0, deadRefused: 0, deletedRefused: 0 };
  private readonly keys = new Map<string, KeyRecord>();
  private readonly recent: string[] = [];
  private readonly tol: number;

  constructor(private readonly options: LedgerOptions) {
    this.tol = options.toleranceMs ?? 5;
  }

  /** A key seen lately, picked with `random` (undefined before any). */
  pick(random: () => number): string | undefined {
    return this.recent[Math.floor(random() * this.recent.length)];
  }

  /** Records keys a GenerateKeys answered with. */
  generated(keys: readonly { key: string; expiresAt: number }[]): void {
    for (const { key, expiresAt } of keys) {
      const rec = this.record(key);
      rec.life = Math.max(rec.life, expiresAt);
    }
  }

  /** Checks and records an acquisition (unary or waiting). */
  acquired(got: Acquired, via: string): void {
    const at = got.blockedUntil - this.options.blockTtlMs;
    const rec = this.record(got.key);
    this.counts.acquisitions++;
    this.checkServed(rec, at, `${via} acquired`);
    for (const other of rec.leases) this.checkOverlap(rec.name, other, { leaseId: got.leaseId, at, blockedUntil: got.blockedUntil }, via);
    const previous = rec.leases.reduce<Lease | undefined>((p, l) => (l.at <= at && (!p || l.at > p.at) ? l : p), undefined);
    if (previous?.releaseSentAt !== undefined && previous.releaseSentAt <= at + this.tol) this.counts.afterRelease++;
    else if (previous) this.counts.afterAutoRelease++;
    rec.leases.push({ leaseId: got.leaseId, at, blockedUntil: got.blockedUntil });
    rec.life = Math.max(rec.life, got.expiresAt);
  }

  /** Call just before sending a release of `leaseId`: from now on that lease may be over. */
  releasing(key: string, leaseId: string): void {
    const lease = this.record(key).leases.find((l) => l.leaseId === leaseId);
    if (lease && lease.releaseSentAt === undefined) lease.releaseSentAt = Date.now();
  }

  /** Call just before sending a keepalive of `key`; call the returned function with its outcome. */
  keepingAlive(key: string, via: string): (outcome: KeepAliveOutcome) => void {
    const rec = this.record(key);
    rec.keepalivesInFlight++;
    return (outcome) => {
      rec.keepalivesInFlight--;
      if (outcome === "failed") {
        rec.maybeLife = Math.max(rec.maybeLife, Date.now() + this.options.keepaliveTtlMs);
      } else if (outcome === "not-found") {
        this.notFound(key);
      } else {
        this.checkServed(rec, outcome.expiresAt - this.options.keepaliveTtlMs, `${via} kept alive`);
        rec.life = Math.max(rec.life, outcome.expiresAt);
      }
    };
  }

  /** Counts a call on `key` answered NOT_FOUND when the ledger knows the key deleted or dead. */
  notFound(key: string): void {
    const rec = this.record(key);
    if (rec.deletedAt !== undefined) this.counts.deletedRefused++;
    else if (rec.life > 0 && Math.max(rec.life, rec.maybeLife) <= Date.now()) this.counts.deadRefused++;
  }

  /** Records a delete answered OK (call when the answer arrives). */
  deleted(key: string): void {
    const rec = this.record(key);
    rec.deletedAt ??= Date.now();
  }

  /** The key's record, made on first sight. */
  private record(key: string): KeyRecord {
    let rec = this.keys.get(key);
    if (!rec) {
      rec = { name: `${key.slice(0, 6)}…`, leases: [], life: 0, maybeLife: 0, keepalivesInFlight: 0 };
      this.keys.set(key, rec);
      if (this.recent.length < RECENT) this.recent.push(key);
      else this.recent[Math.floor(Math.random() * RECENT)] = key;
    }
    return rec;
  }

  /** A key served at server time `at` must be neither deleted before nor dead. */
  private checkServed(rec: KeyRecord, at: number, what: string): void {
    const key = rec.name;
    if (rec.deletedAt !== undefined && at > rec.deletedAt + this.tol) {
      this.violations.push(`${what} ${key} at ${at}, ${at - rec.deletedAt} ms after its delete was answered`);
    }
    // A keepalive still in flight may have extended the life: no verdict then.
    const life = Math.max(rec.life, rec.maybeLife);
    if (rec.keepalivesInFlight === 0 && life > 0 && at >= life + this.tol) {
      this.violations.push(`${what} ${key} at ${at}, ${at - life} ms after it died`);
    }
  }

  /** Two leases of one key overlap unless the earlier one ended (released or ran out) first. */
  private checkOverlap(name: string, x: Lease, y: Lease, via: string): void {
    const [early, late] = x.at <= y.at ? [x, y] : [y, x];
    const ranOut = late.at + this.tol >= early.blockedUntil;
    const released = early.releaseSentAt !== undefined && early.releaseSentAt <= late.at + this.tol;
    if (!ranOut && !released) {
      this.violations.push(`${via}: ${name} was acquired at ${late.at} while blocked until ${early.blockedUntil} under an unreleased lease`);
    }
  }
}
