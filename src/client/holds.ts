import { redactKey } from "../pool/key-format.js";
import { KeyPoolClientError } from "./errors.js";
import { assertKeys, assertPool } from "./keepalive-once.js";
import { KeepAliveKeeper } from "./keeper.js";
import type { KeeperDeps } from "./keeper.js";
import { KeepAliveHold, LeaseHold } from "./key-hold.js";
import type { HoldOwner } from "./key-hold.js";
import { blockTtlOf } from "./lease-timing.js";
import type { LeasedKey, PoolKey } from "./types.js";

/** What a client's holds need from it: the keeper's stream and events, and a release under a lease. */
export interface HoldsDeps extends KeeperDeps {
  readonly release: HoldOwner["release"];
}

/**
 * The holds of one client: makes KeepAliveHolds and LeaseHolds, checks what may be held, and
 * keeps them all over the client's one KeepAliveKeeper. A key is held at most once per pool.
 * Remembers when the call that returned each leased key was sent, since a lease hold's deadline
 * starts there. O(1) per hold.
 */
export class ClientHolds {
  private readonly keeper: KeepAliveKeeper;
  private readonly owner: HoldOwner;
  /** When (client clock) the call that returned each leased key was sent. */
  private readonly sentAt = new WeakMap<PoolKey, number>();
  private closed = false;

  constructor(deps: HoldsDeps) {
    this.keeper = new KeepAliveKeeper(deps);
    this.owner = {
      drop: (hold) => this.keeper.remove(hold),
      now: () => deps.scheduler.now(),
      expired: (hold) => this.keeper.expire(hold),
      release: deps.release,
    };
  }

  /** How often holds are sent (a third of the shortest TTL held) once known; undefined before. */
  get intervalMs(): number | undefined {
    return this.keeper.intervalMs;
  }

  /** Remembers that the call which returned `key` was sent at `sentAt` (client clock), and returns it. */
  leased(key: LeasedKey, sentAt: number): LeasedKey {
    this.sentAt.set(key, sentAt);
    return key;
  }

  /** Keeps `key` of `pool` alive (life only). Throws as `KeyPoolClient.hold` documents. */
  alive(key: string, pool: string): KeepAliveHold {
    this.check(key, pool);
    const hold = new KeepAliveHold(key, pool, this.owner);
    this.keeper.add(hold);
    return hold;
  }

  /** Renews the lease of `key` in its pool. Throws as `KeyPoolClient.hold` documents. */
  lease(key: LeasedKey): LeaseHold {
    this.check(key.key, key.pool);
    if (key.state !== "blocked" || !key.leaseId || key.blockedUntil === undefined || key.acquiredAt === undefined) {
      throw new KeyPoolClientError("INVALID_ARGUMENT", "hold", `${redactKey(key.key)} carries no lease: hold a key from acquireKey, or hold the key string to keep it alive only`);
    }
    const sentAt = this.sentAt.get(key);
    if (sentAt === undefined) {
      // Without the send time of the call that returned it, nothing says when its lease may end.
      throw new KeyPoolClientError("INVALID_ARGUMENT", "hold", `hold the very object this client's acquireKey or renewLease returned for ${redactKey(key.key)} (not a copy); or call renewLease and hold its result`);
    }
    const hold = new LeaseHold(key, this.owner);
    this.keeper.addLease(hold, sentAt, blockTtlOf(key));
    return hold;
  }

  /** Stops every hold (no `lost` events). Idempotent. */
  close(): void {
    this.closed = true;
    this.keeper.close();
  }

  private check(key: string, pool: string): void {
    if (this.closed) throw new KeyPoolClientError("CANCELLED", "hold", "the client is closed");
    assertKeys([key], "hold");
    assertPool(pool, "hold");
    if (this.keeper.has(pool, key)) {
      throw new KeyPoolClientError("ALREADY_EXISTS", "hold", `${redactKey(key)} is held already; stop that hold first`);
    }
  }
}
