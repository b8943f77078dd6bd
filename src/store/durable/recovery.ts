import { performance } from "node:perf_hooks";
import { DEFAULT_MAX_COOLDOWN_MS, redactKey } from "../../pool/index.js";
import type { KeyInfo, KeyPool, PoolOptions } from "../../pool/index.js";
import { DataDirError, damagedData as damaged } from "./data-dir.js";
import type { Journal } from "./journal.js";
import { decodeRecord } from "./record-codec.js";
import type { StoredRecord } from "./record-codec.js";

/** What a recovery found, for the start-up log line. */
export interface RecoveryReport {
  /** Live keys put back into the pool. */
  readonly keys: number;
  /** Of those, keys still blocked under their lease. */
  readonly blocked: number;
  /** Records of keys that had died while the server was up, removed from the data dir. */
  readonly dropped: number;
  /** The instant recovery judged every deadline by (ms since the epoch). */
  readonly restartedAt: number;
  /** How long recovery took, in ms. */
  readonly ms: number;
  /**
   * Set when the data dir remembered a watermark later than this clock allows (a run with a
   * clock set ahead): it was ignored, and the line says so. Undefined normally.
   */
  readonly warning?: string;
}

/**
 * How far the remembered watermark may lie ahead of the clock and still be trusted: clocks of two
 * hosts sharing a volume, or one clock before and after an NTP correction, differ by that much.
 * A watermark further ahead came from a clock that was wrong; trusting it would keep every block
 * running and every key alive until that clock's time comes.
 */
export const WATERMARK_SLACK_MS = 60_000;

/**
 * Where recovery puts a record: the (empty, fresh) pool named by a record key's pool part ("" =
 * the default pool), made on first use. Throws DataDirError for a pool it cannot make (past
 * --max-pools).
 */
export type RecoveryTarget = (pool: string) => KeyPool;

/**
 * Loads every record of `journal` into the empty pools of `target` and makes the outcome durable before
 * returning, so the server may serve the moment it resolves. Rules:
 *
 * - A key whose life ended at or before the watermark died while the server was up: its record is
 *   removed. Any other key survives, even if its life ended while the server was down.
 * - Every survivor lives until restart + keepalive TTL (the most any key could have been promised
 *   under the current TTL). That instant is persisted once as the data dir's `floor` rather than
 *   in each record: a record's life is max(record, floor).
 * - A block whose deadline passed comes back free; a block that is still running keeps its lease
 *   and deadline (cut to restart + block TTL if the block TTL was lowered).
 *
 * - A watermark more than WATERMARK_SLACK_MS ahead of the clock is ignored (and reported), and
 *   records with deadlines past what this restart could promise are rewritten as restored.
 *
 * Recovery proves it read everything: every record carries a checksum, and the records read must
 * number what the engine counts. Throws DataDirError (naming the dir) for an undecodable record, a
 * count that does not match, an engine error while reading, or more live keys than `maxKeys`.
 * Cost: O(n) reads and restores, plus O(b log b) to order the b keys still blocked.
 */
export async function recover(journal: Journal, target: RecoveryTarget, options: PoolOptions, clockNow: number): Promise<RecoveryReport> {
  const start = performance.now();
  const remembered = journal.readMeta();
  const fromFuture = remembered.watermark > clockNow + WATERMARK_SLACK_MS;
  const watermark = fromFuture ? clockNow : remembered.watermark;
  // Never judge deadlines by a time before one already seen (a clock set back while down).
  const now = Math.max(clockNow, watermark);
  const life = now + options.keepaliveTtlMs;
  const latestBlock = now + options.blockTtlMs;
  const latestCooldown = now + (options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS);
  const floor = Math.min(remembered.floor, life);
  const blocked: StoredRecord[] = [];
  const dead: string[] = [];
  const rewrite: { record: string; pool: KeyPool; key: string }[] = [];
  /** Live keys per pool part, for the per-pool capacity check. */
  const perPool = new Map<string, number>();
  let keys = 0;
  let read = 0;
  try {
    for (const { key, value } of journal.keys.getRange()) {
      read++;
      const record = decodeRecord(key, value);
      if (!record) throw damagedRecord(journal.dir, key);
      if (Math.max(record.expiresAt, floor) <= watermark) {
        dead.push(key);
        continue;
      }
      keys++;
      const held = (perPool.get(record.pool) ?? 0) + 1;
      perPool.set(record.pool, held);
      if (held > options.maxKeys) throw overCapacity(journal.dir, options.maxKeys);
      const pool = target(record.pool);
      if (record.expiresAt > life || record.blockedUntil > latestBlock || record.cooldownUntil > latestCooldown) {
        rewrite.push({ record: key, pool, key: record.key });
      }
      if (record.blockedUntil > now && record.leaseId) blocked.push(record);
      else pool.restore(freeInfo(record, now, life, latestCooldown), now);
    }
    const counted = journal.keys.getCount();
    if (read !== counted) throw damaged(journal.dir, `it counts ${counted} records but ${read} could be read`);
  } catch (err) {
    throw err instanceof DataDirError ? err : damaged(journal.dir, `reading it failed (${(err as Error).message})`, err);
  }
  restoreBlocked(target, blocked, now, life, latestBlock);
  for (const key of dead) journal.remove(key, now);
  // A record from a clock that ran ahead would outlive this restart's promises at the next one.
  for (const r of rewrite) journal.put(r.pool.get(r.key, now), now, r.record);
  journal.setFloor(life);
  journal.mark(now);
  await journal.barrier();
  const report = { keys, blocked: blocked.length, dropped: dead.length, restartedAt: now, ms: Math.round(performance.now() - start) };
  if (!fromFuture) return report;
  return { ...report, warning: `the data dir's watermark ${new Date(remembered.watermark).toISOString()} lies ahead of this clock ` +
    `(${new Date(clockNow).toISOString()}) by more than ${WATERMARK_SLACK_MS / 1000} s: a clock set ahead wrote it; it was ignored ` +
    `and ${rewrite.length} records with deadlines past this restart's were rewritten` };
}

/**
 * A record that is not blocked at `now` as the pool takes it back: free, or cooling until its
 * deadline (cut to `latest`, now + --max-cooldown, if a clock that ran ahead set it).
 */
function freeInfo(r: StoredRecord, now: number, life: number, latest: number): KeyInfo {
  const cooling = r.cooldownUntil > now;
  return {
    key: r.key, state: cooling ? "cooling" : "free", expiresAt: life, createdAt: r.createdAt, fencingToken: r.fencingToken,
    cooldownUntil: cooling ? Math.min(r.cooldownUntil, latest) : undefined,
  };
}

/** Restores blocked keys in block-deadline order (so in order within each pool), which a pool's block list requires. */
function restoreBlocked(target: RecoveryTarget, blocked: StoredRecord[], now: number, life: number, latest: number): void {
  blocked.sort((a, b) => a.blockedUntil - b.blockedUntil);
  for (const r of blocked) {
    target(r.pool).restore({
      key: r.key,
      state: "blocked",
      leaseId: r.leaseId,
      blockedUntil: Math.min(r.blockedUntil, latest),
      expiresAt: life,
      createdAt: r.createdAt,
      fencingToken: r.fencingToken,
      acquiredAt: r.acquiredAt,
    }, now);
  }
}

function damagedRecord(dir: string, key: string): DataDirError {
  return damaged(dir, `the record of key ${redactKey(key)} cannot be read`);
}

function overCapacity(dir: string, maxKeys: number): DataDirError {
  return new DataDirError(dir, `holds more live keys in one pool than --max-keys (${maxKeys})`,
    "raise --max-keys to at least the number of keys the pool held");
}
