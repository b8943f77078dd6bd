import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { GetPoolStatsResponse, KeyInfo as WireKeyInfo } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import { ReferenceModel } from "../store/conformance/reference-model.js";
import type { ModelSettings } from "../store/conformance/reference-model.js";
import { GENERATED_KEY_SHAPE, LEASE_SHAPE } from "./fuzz-arbitraries.js";
import { ContractViolation } from "./fuzz-calls.js";
import type { Known } from "./fuzz-checks.js";
import { checkInfo } from "./fuzz-key-ops.js";

/**
 * The conformance suite's reference model plus every key a fuzz run has seen (live, deleted or
 * dead), checking what the server hands out against it.
 */
export class FuzzModel {
  model: ReferenceModel;
  /** Every key the server ever made for this run, in order. */
  readonly known: string[] = [];
  private readonly seen = new Set<string>();

  constructor(readonly settings: ModelSettings) {
    this.model = new ReferenceModel(settings);
  }

  /** Records keys GenerateKeys made at `now`, checking each is new, FREE and alive for one TTL. */
  generated(keys: readonly WireKeyInfo[], now: number): void {
    for (const k of keys) {
      if (!GENERATED_KEY_SHAPE.test(k.key)) throw new ContractViolation("GenerateKeys made a key of the wrong shape");
      if (this.seen.has(k.key)) throw new ContractViolation("GenerateKeys made a key it had made before");
      if (k.state !== KeyState.FREE || k.leaseId !== "") throw new ContractViolation("GenerateKeys made a key that is not FREE");
      if (timestampMs(k.expiresAt!) !== now + this.settings.keepaliveTtlMs) {
        throw new ContractViolation("GenerateKeys made a key that does not live one keepalive TTL");
      }
      this.seen.add(k.key);
      this.known.push(k.key);
    }
    this.model.add(keys.map((k) => ({ key: k.key, state: "free", expiresAt: 0, createdAt: 0 })), now);
  }

  /**
   * Records keys ImportKeys added at `now`, checking each is FREE and alive for one TTL. A key
   * text may come back after it died or was deleted, so it is known once.
   */
  imported(keys: readonly WireKeyInfo[], now: number): void {
    for (const k of keys) {
      if (k.state !== KeyState.FREE || k.leaseId !== "") throw new ContractViolation("ImportKeys added a key that is not FREE");
      if (timestampMs(k.expiresAt!) !== now + this.settings.keepaliveTtlMs) {
        throw new ContractViolation("ImportKeys added a key that does not live one keepalive TTL");
      }
      if (!this.seen.has(k.key)) this.known.push(k.key);
      this.seen.add(k.key);
    }
    this.model.add(keys.map((k) => ({ key: k.key, state: "free", expiresAt: 0, createdAt: 0 })), now);
  }

  /** Records a key AcquireKey handed out at `now`: it must have been free and live. */
  acquired(wire: WireKeyInfo | undefined, now: number): void {
    const key = wire?.key ?? "";
    const before = this.model.get(key, now);
    if (!("ok" in before)) throw new ContractViolation("AcquireKey handed out a key that is deleted, dead or unknown");
    if (before.ok.state !== "free") throw new ContractViolation("AcquireKey handed out a key that was already blocked");
    if (!LEASE_SHAPE.test(wire!.leaseId)) throw new ContractViolation("AcquireKey gave a lease id of the wrong shape");
    checkInfo(wire, this.model.acquire(key, wire!.leaseId, now), "AcquireKey");
  }

  /** Throws unless GetPoolStats equals the model's counts. */
  checkStats(stats: GetPoolStatsResponse, now: number): void {
    const want = this.model.stats(now);
    const got = { total: Number(stats.total), free: Number(stats.free), blocked: Number(stats.blocked) };
    if (got.total !== want.total || got.free !== want.free || got.blocked !== want.blocked) {
      throw new ContractViolation(`GetPoolStats says ${JSON.stringify(got)}, the model ${JSON.stringify(want)}`);
    }
  }

  /** Forgets everything (after the final checks, so the heap check sees the server's memory). */
  clear(): void {
    this.known.length = 0;
    this.seen.clear();
    this.model = new ReferenceModel(this.settings);
  }

  /** Known keys alive at `now`. O(known keys). */
  liveKeys(now: number): string[] {
    return this.known.filter((key) => "ok" in this.model.get(key, now));
  }

  /** What every known key must look like now, for the after-run checks. */
  knownAt(now: number): Map<string, Known> {
    const out = new Map<string, Known>();
    for (const key of this.known) {
      const k = this.model.get(key, now);
      out.set(key, "ok" in k ? { state: k.ok.state === "blocked" ? KeyState.BLOCKED : KeyState.FREE, leaseId: k.ok.leaseId ?? "" } : { gone: true });
    }
    return out;
  }
}
