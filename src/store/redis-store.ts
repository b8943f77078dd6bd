import { assertCooldown, assertKey, assertLeaseId, keysToGenerate, messages, refusalError } from "../pool/index.js";
import { LIST_SCAN_FACTOR } from "../pool/rules.js";
import type { KeepAliveResult, KeyInfo, KeyState, LeaseRef, LeaseResult, ListPage, ListQuery, PoolStats } from "../pool/index.js";
import { systemRandom } from "../random.js";
import type { KeyStore } from "./key-store.js";
import { inChunks } from "./redis/chunks.js";
import { checkImport } from "../pool/key-import.js";
import { KeyMaker } from "./redis/key-maker.js";
import { decodeListToken, encodeListToken } from "./redis/list-token.js";
import type { ScriptReply } from "./redis/commands.js";
import { RedisShard } from "./redis/redis-shard.js";
import { expectOk, renewRefusal, toAddedKeys, toKeepAliveResults, toKeyInfo, toLeaseResults, toShardPage } from "./redis/replies.js";
import type { ShardPage } from "./redis/replies.js";
import { PoolSettingsMismatch } from "./redis/settings-gate.js";
import type { RedisStoreOptions } from "./redis/store-options.js";

export type { RedisStoreOptions };

/** Fresh attempts when a generated key is already taken (2^-144 odds each). */
const GENERATE_ATTEMPTS = 3;

/**
 * A pool kept in Redis and shared by any number of servers. Every method is ONE atomic Lua script
 * (EVALSHA), O(log n) for the keys it names plus a bounded catch-up (O(k log n) for k keys), with
 * deadlines judged by one clock: Redis TIME, or `clock` when given. Keys and lease ids are made
 * here from `random` and validated before any Redis call. A background sweeper reclaims the rest.
 * Redis unreachable: every method fails UNAVAILABLE at once and `isServing()` is false; it serves
 * again by itself when Redis is back.
 *
 * The pool's settings live in Redis with the pool (its `settings` hash): every script reads its
 * TTLs, capacity and longest cooldown from there, never from this process. Before its first call
 * a store checks them against its own (see SettingsGate): a pool without settings gets this
 * store's (with `onDemand`, only once a call adds keys: a read of a pool Redis does not hold
 * answers as an empty pool, see absent-replies.ts), a pool with others is refused, so
 * servers of one pool cannot apply different rules. Open with `RedisStore.open`.
 *
 * Scripts that free or add keys publish on the pool's channel; every store subscribes on a second
 * connection, so `onKeysFreed` fires for keys freed through any server (see FreedSubscription).
 * `counters()` counts what THIS store's calls and sweeps did, not the pool's totals.
 */
export class RedisStore extends RedisShard implements KeyStore {
  private readonly make: KeyMaker;

  /**
   * Opens a store on `options.pool`: waits up to `readyTimeoutMs` (default 5000) for Redis, then
   * checks the pool's settings and rejects with PoolSettingsMismatch when they differ. With Redis
   * unreachable it resolves anyway: the store answers UNAVAILABLE and checks the settings once
   * Redis answers; if they differ then, `onRefused` listeners hear of it and it never serves.
   */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    try {
      await store.ready(options.readyTimeoutMs ?? 5_000);
      await store.checkSettings();
    } catch (err) {
      if (err instanceof PoolSettingsMismatch) {
        await store.close();
        throw err;
      }
      // Redis unreachable or slow: serve UNAVAILABLE; the gate checks on the next connection or call.
    }
    return store;
  }

  /** A store that checks the pool's settings on its first connection or call (prefer `open`). */
  constructor(options: RedisStoreOptions) {
    super(options);
    this.make = new KeyMaker(options.random ?? systemRandom, options.newKey);
  }

  /**
   * Adds `count` keys, all or none. `elsewhere`: live keys the pool holds outside this shard (a
   * sharded pool counts its other shards), so `maxKeys` bounds the whole pool.
   */
  async generate(count: number, elsewhere = 0): Promise<KeyInfo[]> {
    const n = keysToGenerate(count);
    for (let attempt = 1; ; attempt++) {
      const keys = this.make.freshKeys(n);
      const reply = await this.run("keypoolGenerate", [n, elsewhere, ...keys]);
      if (reply[0] === "retry" && attempt < GENERATE_ATTEMPTS) continue;
      return toAddedKeys(keys, reply, elsewhere);
    }
  }

  /** Validates the batch (see checkImport), then adds it in one script, all or none. O(k log n). */
  async import(keys: readonly string[]): Promise<KeyInfo[]> {
    // Whether a key is already held is the script's to say (ALREADY_EXISTS naming its index).
    checkImport(keys, () => false);
    return this.importChecked(keys, keys.map((_, i) => i), 0);
  }

  /**
   * Imports keys already validated: `indexes[i]` is keys[i]'s index in the caller's request (for
   * the ALREADY_EXISTS message), `elsewhere` as for generate. One script.
   */
  async importChecked(keys: readonly string[], indexes: readonly number[], elsewhere: number): Promise<KeyInfo[]> {
    const reply = await this.importScript(keys, elsewhere, "add");
    return toAddedKeys(keys, reply, elsewhere, (r) => messages.keyExists(`keys[${indexes[Number(r[1])]}]`));
  }

  /**
   * The import script's reply (ok, already-exists and the index among `keys`, resource-exhausted);
   * "check" changes nothing a caller can see (a sharded pool checks every shard before adding
   * to any). One script.
   */
  importScript(keys: readonly string[], elsewhere: number, mode: "check" | "add"): Promise<ScriptReply> {
    return this.run("keypoolImport", [elsewhere, mode, ...keys]);
  }

  async acquire(): Promise<KeyInfo> {
    const reply = await this.run("keypoolAcquire", [this.make.leaseId(), this.make.draw()]);
    const ok = expectOk(reply, {
      "not-found": (r) => messages.noFreeKey(Number(r[1]), Number(r[2])),
    });
    return toKeyInfo(ok);
  }

  /** Releases (see KeyStore.release); `cooldownMs` > 0 parks the key as COOLING that long. */
  async release(key: string, leaseId?: string, cooldownMs = 0): Promise<KeyInfo> {
    if (leaseId) assertLeaseId(leaseId);
    assertKey(key);
    assertCooldown(cooldownMs, this.poolSettings.maxCooldownMs);
    const reply = await this.run("keypoolRelease", [key, leaseId ?? "", cooldownMs]);
    return toKeyInfo(expectOk(reply, {
      "invalid-argument": (r) => messages.cooldownOutOfRange(cooldownMs, Number(r[2])),
      "failed-precondition": (r) => (r[1] === "cooling" ? messages.coolingNotYourLease() : messages.notCurrentLease()),
    }));
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    expectOk(await this.run("keypoolDelete", [key]));
  }

  async keepAlive(key: string): Promise<KeyInfo> {
    assertKey(key);
    return toKeyInfo(expectOk(await this.run("keypoolKeepAlive", [key])));
  }

  async renew(key: string, leaseId: string): Promise<KeyInfo> {
    assertKey(key);
    assertLeaseId(leaseId);
    const reply = await this.run("keypoolRenew", [key, leaseId]);
    if (reply[0] === "not-found" || reply[0] === "failed-precondition") throw refusalError(renewRefusal(String(reply[1]), this.poolSettings.maxLeaseMs));
    return toKeyInfo(expectOk(reply));
  }

  /** Validates every lease, then one script per 1,000 leases. O(k log n). */
  async renewMany(leases: readonly LeaseRef[]): Promise<LeaseResult[]> {
    leases.forEach(({ key, leaseId }, i) => {
      assertKey(key, `leases[${i}].key`);
      assertLeaseId(leaseId, `leases[${i}].lease_id`);
    });
    return inChunks(leases, async (chunk) => {
      const reply = expectOk(await this.run("keypoolRenewMany", chunk.flatMap((l) => [l.key, l.leaseId])));
      return toLeaseResults(chunk, reply, this.poolSettings.maxLeaseMs);
    });
  }

  /** Validates every key, then one script per 1,000 keys. O(k log n). */
  async keepAliveMany(keys: readonly string[]): Promise<KeepAliveResult[]> {
    keys.forEach((k, i) => assertKey(k, `keys[${i}]`));
    return inChunks(keys, async (chunk) => toKeepAliveResults(chunk, expectOk(await this.run("keypoolKeepAliveMany", chunk))));
  }

  async get(key: string): Promise<KeyInfo> {
    assertKey(key);
    return toKeyInfo(expectOk(await this.run("keypoolGet", [key])));
  }

  async stats(): Promise<PoolStats> {
    const [, total, blocked, cooling] = expectOk(await this.run("keypoolStats", [])).map(Number);
    return { total: total!, free: total! - blocked! - cooling!, blocked: blocked!, cooling: cooling!, ...this.settings };
  }

  /** One page of the pool in creation order (see listing-script.ts). O(pageSize · log n). */
  async list(query: ListQuery): Promise<ListPage> {
    const { after } = decodeListToken(query.pageToken, this.pool, 1, query.state);
    const page = await this.listShard(query.state, query.pageSize, after);
    return { keys: page.keys, nextPageToken: page.more ? encodeListToken(this.pool, 1, { shard: 0, after: page.after }, query.state) : "" };
  }

  /**
   * This shard's part of a listing: at most `pageSize` keys after sequence `after`, at most
   * `limit` entries examined (default LIST_SCAN_FACTOR · pageSize). One script.
   */
  async listShard(state: KeyState | undefined, pageSize: number, after: number, limit = LIST_SCAN_FACTOR * pageSize): Promise<ShardPage> {
    return toShardPage(expectOk(await this.run("keypoolList", [state ?? "", pageSize, after, limit])));
  }
}
