import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { isPoolName, messages } from "../pool/index.js";
import { Signal } from "../store/signal.js";

/** What a token may do. */
export type Role = "admin" | "worker" | "reader";

/** The methods each role may call (full gRPC paths); admin may call everything. */
export const ROLE_METHODS: Readonly<Record<Exclude<Role, "admin">, ReadonlySet<string>>> = {
  worker: new Set(["AcquireKey", "ReleaseKey", "RenewLease", "KeepAliveKey", "KeepAlive", "GetKey"].map((m) => `/keypool.v1.KeyService/${m}`)),
  reader: new Set(["GetKey", "GetPoolStats"].map((m) => `/keypool.v1.KeyService/${m}`)),
};

/** May `role` call `path`? O(1). */
export function mayCall(role: Role, path: string): boolean {
  return role === "admin" || ROLE_METHODS[role].has(path);
}

interface TokenEntry {
  readonly name: string;
  readonly role: Role;
  readonly hash: Buffer;
  /** The only pools the token may use; undefined: every pool. */
  readonly pools: readonly string[] | undefined;
}

const ROLES: readonly Role[] = ["admin", "worker", "reader"];

/** SHA-256 of a token, hex: what the auth file stores (`printf %s "$TOKEN" | sha256sum`). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * Parses an auth file: `{"tokens": [{"name": "ci", "role": "worker", "sha256": "<64 hex>"}]}`,
 * where a token may carry `"pools": ["openai", ...]` to be limited to those pools (absent: every
 * pool). Only token hashes are stored, never tokens. Throws an Error naming the path and the problem.
 */
export function parseAuthFile(path: string, text: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`auth file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const tokens = (doc as { tokens?: unknown })?.tokens;
  if (!Array.isArray(tokens)) throw new Error(`auth file ${path} must be {"tokens": [...]}`);
  return tokens.map((entry: Record<string, unknown>, i) => {
    const where = `auth file ${path}, tokens[${i}]`;
    if (typeof entry?.name !== "string" || entry.name === "") throw new Error(`${where}: "name" must be a non-empty string`);
    if (!ROLES.includes(entry.role as Role)) throw new Error(`${where}: "role" must be one of ${ROLES.join(", ")}`);
    if (typeof entry.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.sha256)) {
      throw new Error(`${where}: "sha256" must be the 64-hex-digit SHA-256 of the token (never the token itself)`);
    }
    return { name: entry.name, role: entry.role as Role, hash: Buffer.from(entry.sha256, "hex"), pools: poolsOf(entry.pools, where) };
  });
}

/** A token entry's `pools`: undefined (every pool) or a non-empty list of pool names. */
function poolsOf(pools: unknown, where: string): readonly string[] | undefined {
  if (pools === undefined) return undefined;
  if (!Array.isArray(pools) || pools.length === 0) {
    throw new Error(`${where}: "pools" must be a non-empty list of pool names (leave it out for every pool)`);
  }
  pools.forEach((pool: unknown, j) => {
    if (typeof pool !== "string" || !isPoolName(pool)) throw new Error(`${where}, pools[${j}]: ${messages.invalidPoolName(String(pool))}`);
  });
  return [...new Set(pools as string[])];
}

/** Who presented a valid token. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** The only pools it may use; undefined: every pool. */
  readonly pools: readonly string[] | undefined;
}

/**
 * The bearer tokens the server accepts, loaded from `--auth-file` and reloadable (SIGHUP).
 * `authenticate` compares the presented token's hash with EVERY entry in constant time, so
 * timing reveals nothing about which entry (if any) matched. O(tokens) per call.
 */
export class TokenRegistry {
  private entries: TokenEntry[];
  /** Emitted after every successful reload, so open streams can be asked again. */
  readonly reloaded = new Signal();

  constructor(readonly path: string) {
    this.entries = TokenRegistry.load(path);
  }

  private static load(path: string): TokenEntry[] {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`cannot read auth file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return parseAuthFile(path, text);
  }

  /**
   * Re-reads the file; on error keeps the tokens it had and throws. Returns the token count.
   * Listeners of `reloaded` run before it returns (the server ends streams whose token is gone).
   */
  reload(): number {
    this.entries = TokenRegistry.load(this.path);
    this.reloaded.emit();
    return this.entries.length;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal a bearer token belongs to, or undefined. */
  authenticate(token: string): Principal | undefined {
    const hash = createHash("sha256").update(token, "utf8").digest();
    let found: TokenEntry | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.hash, hash) && !found) found = entry;
    }
    return found && { name: found.name, role: found.role, pools: found.pools };
  }
}
