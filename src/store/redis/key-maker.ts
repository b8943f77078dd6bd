import { TokenSource } from "../../pool/token-source.js";
import type { Random } from "../../random.js";

/**
 * What a Redis shard draws from its injected Random: new keys (or `newKey`'s, for a shard of a
 * sharded pool), lease ids, and the number a script's pick among free keys is made from. O(1)
 * each (O(n) for n keys).
 */
export class KeyMaker {
  private readonly tokens: TokenSource;

  constructor(private readonly random: Random, private readonly newKey: (() => string) | undefined) {
    this.tokens = new TokenSource(random);
  }

  /** A fresh lease id. */
  leaseId(): string {
    return this.tokens.leaseId();
  }

  /** A uniformly random integer in [0, 2^53), as decimal text, for the script's pick. */
  draw(): string {
    return String(this.random.int(2 ** 26) * 2 ** 27 + this.random.int(2 ** 27));
  }

  /** `n` distinct new keys. */
  freshKeys(n: number): string[] {
    const keys = new Set<string>();
    while (keys.size < n) keys.add(this.newKey?.() ?? this.tokens.key());
    return [...keys];
  }
}
