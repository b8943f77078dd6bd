import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import type { KeyInfo, KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { KeyState } from "../../gen/keypool/v1/keypool_pb.js";
import type { TypedClient } from "../../src/grpc/typed-client.js";
import type { Random } from "../../src/random.js";
import { OP_KINDS } from "./soak-protocol.js";
import type { ClientConfig, OpKind, SoakEvent } from "./soak-protocol.js";

const S = grpc.status;
const WHOLE_KEY = /kp_[A-Za-z0-9_-]{24}/g;
/** Codes each kind of call may end with; anything else is a violation. */
const EXPECTED: Readonly<Record<OpKind, readonly grpc.status[]>> = {
  acquire: [S.OK, S.NOT_FOUND, S.UNAVAILABLE],
  release: [S.OK, S.NOT_FOUND, S.FAILED_PRECONDITION],
  "release-stale": [S.OK, S.NOT_FOUND, S.FAILED_PRECONDITION],
  keepalive: [S.OK, S.NOT_FOUND],
  "keepalive-stream": [S.OK],
  delete: [S.OK, S.NOT_FOUND],
  generate: [S.OK, S.RESOURCE_EXHAUSTED],
  get: [S.OK, S.NOT_FOUND],
  stats: [S.OK],
};

/** A key this client holds: its lease, and when it means to give it back. */
interface Held {
  readonly leaseId: string;
  readonly releaseAfter: number;
}

/** A set of keys with O(1) add, remove and uniform pick. */
class KeySet {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();

  add(key: string): void {
    if (!this.index.has(key)) this.index.set(key, this.list.push(key) - 1);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  delete(key: string): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    const last = this.list.pop()!;
    if (i < this.list.length) {
      this.list[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(key);
  }

  pick(random: Random): string | undefined {
    return this.list.length === 0 ? undefined : this.list[random.int(this.list.length)];
  }
}

/**
 * One soak client's state and operations: the keys it knows and keeps alive, the keys it holds,
 * leases that ended; every answer is checked and recorded as ledger events for the parent.
 */
export class SoakClient {
  readonly known = new KeySet();
  /** Keys left to die: never kept alive by this client. */
  readonly mortal = new Set<string>();
  readonly held = new Map<string, Held>();
  readonly stale: { key: string; leaseId: string }[] = [];
  events: SoakEvent[] = [];
  readonly ops = Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>;
  readonly codes: Record<string, number> = {};

  constructor(
    readonly client: TypedClient<typeof KeyService>,
    readonly config: ClientConfig,
    readonly random: Random,
  ) {
    for (const key of config.keys) this.learn(key);
  }

  /** Adds a key this client will keep alive (nine in ten) or let die. */
  learn(key: string): void {
    this.known.add(key);
    if (this.random.int(10) === 0) this.mortal.add(key);
  }

  forget(key: string): void {
    this.known.delete(key);
    this.mortal.delete(key);
    const held = this.held.get(key);
    if (held) this.retire(key, held.leaseId);
  }

  private retire(key: string, leaseId: string): void {
    this.held.delete(key);
    this.stale.push({ key, leaseId });
    if (this.stale.length > 200) this.stale.splice(0, 100);
  }

  /** Runs `call` as one `kind` operation; checks its status; resolves with the value if OK. */
  async run<T>(kind: OpKind, call: () => Promise<T>): Promise<T | undefined> {
    this.ops[kind]++;
    try {
      const value = await call();
      this.codes.OK = (this.codes.OK ?? 0) + 1;
      return value;
    } catch (err) {
      const { code, details = "" } = err as grpc.ServiceError;
      const name = S[code] ?? String(code);
      this.codes[name] = (this.codes[name] ?? 0) + 1;
      if (!EXPECTED[kind].includes(code)) this.violation(`${kind}: unexpected ${name} "${details.slice(0, 120)}"`);
      if (WHOLE_KEY.test(details)) this.violation(`${kind}: a whole key in error details`);
      WHOLE_KEY.lastIndex = 0;
      return undefined;
    }
  }

  violation(what: string): void {
    this.events.push({ e: "violation", what: `client ${this.config.id}: ${what.replace(WHOLE_KEY, "<key>")}` });
  }

  /** Records that `info` was alive at the server instant `at`. */
  lived(key: string, at: number, expiresAt: number): void {
    this.events.push({ e: "lived", key, at, expiresAt });
  }

  async acquire(): Promise<void> {
    const got = (await this.run("acquire", () => this.client.acquireKey({})))?.key;
    if (!got) return;
    const blockedUntil = timestampMs(got.blockedUntil!);
    const at = blockedUntil - this.config.blockTtlMs;
    const expiresAt = timestampMs(got.expiresAt!);
    this.events.push({ e: "acquired", key: got.key, leaseId: got.leaseId, at, blockedUntil, expiresAt, client: this.config.id });
    if (got.state !== KeyState.BLOCKED) this.violation("acquire: a key handed out not BLOCKED");
    this.held.set(got.key, { leaseId: got.leaseId, releaseAfter: Date.now() + this.random.int(this.config.blockTtlMs * 1.5) });
    if (!this.known.has(got.key) && this.known.list.length < this.config.target * 2) this.known.add(got.key);
  }

  /** Releases a held key whose time has come (under its lease), or a lease that already ended. */
  async release(): Promise<boolean> {
    const now = Date.now();
    const useStale = this.random.int(5) === 0 && this.stale.length > 0;
    let target: { key: string; leaseId: string } | undefined;
    if (useStale) target = this.stale[this.random.int(this.stale.length)];
    else for (const [key, h] of this.held) if (h.releaseAfter <= now) { target = { key, leaseId: h.leaseId }; break; }
    if (!target) return false;
    const { key, leaseId } = target;
    const sent = Date.now();
    const done = await this.run(useStale ? "release-stale" : "release", () => this.client.releaseKey({ key, leaseId }));
    const answered = Date.now();
    if (!useStale) this.retire(key, leaseId);
    if (done) {
      this.events.push({ e: "released", key, leaseId, sent, answered });
      if (done.key?.state !== KeyState.FREE) this.violation("release: answered OK but the key is not FREE");
    }
    return true;
  }

  async keepAliveOne(): Promise<void> {
    const key = this.known.pick(this.random);
    if (!key) return;
    const got = (await this.run("keepalive", () => this.client.keepAliveKey({ key })))?.key;
    if (!got) return void this.forget(key);
    const expiresAt = timestampMs(got.expiresAt!);
    this.lived(key, expiresAt - this.config.keepaliveTtlMs, expiresAt);
  }

  async remove(): Promise<void> {
    const key = this.known.pick(this.random);
    if (!key) return;
    const sent = Date.now();
    const done = await this.run("delete", () => this.client.deleteKey({ key }));
    if (done) this.events.push({ e: "deleted", key, sent, answered: Date.now() });
    this.forget(key);
  }

  async generate(): Promise<void> {
    const count = 1 + this.random.int(20);
    const made = await this.run("generate", () => this.client.generateKeys({ count }));
    for (const k of made?.keys ?? []) {
      this.learn(k.key);
      this.lived(k.key, timestampMs(k.createdAt!), timestampMs(k.expiresAt!));
    }
  }

  async get(): Promise<void> {
    const key = this.known.pick(this.random);
    if (!key) return;
    const got = (await this.run("get", () => this.client.getKey({ key })))?.key;
    if (!got) return void this.forget(key);
    if (!consistent(got)) this.violation("get: an inconsistent key (state, lease id and blocked_until disagree)");
  }

  async stats(): Promise<void> {
    const s = await this.run("stats", () => this.client.getPoolStats({}));
    if (s && s.total !== s.free + s.blocked) this.violation(`stats: total ${s.total} != free ${s.free} + blocked ${s.blocked}`);
  }
}

/** FREE has no lease and no blocked_until; BLOCKED has both. */
function consistent(k: KeyInfo): boolean {
  if (k.state === KeyState.FREE) return k.leaseId === "" && k.blockedUntil === undefined;
  return k.state === KeyState.BLOCKED && k.leaseId.length === 24 && k.blockedUntil !== undefined;
}
