import type { Random } from "../random.js";
import { TOKEN_BYTES, encodeKey, encodeToken } from "./key-format.js";

const BATCH = 256;

/**
 * Keys and lease ids from injected randomness, drawn 256 tokens' worth at a time so a secure
 * generator costs one call per 256 tokens. O(1) amortized, O(BATCH) at worst.
 */
export class TokenSource {
  private readonly bytes = new Uint8Array(TOKEN_BYTES * BATCH);
  private offset = this.bytes.length;

  constructor(private readonly random: Random) {}

  /** A fresh key, `kp_` + 24 characters. */
  key(): string {
    return encodeKey(this.bytes, this.take());
  }

  /** A fresh lease id, 24 characters. */
  leaseId(): string {
    return encodeToken(this.bytes, this.take());
  }

  /** Copies fresh random bytes for one lease id into `into` at `offset`. */
  leaseBytes(into: Uint8Array, offset: number): void {
    const at = this.take();
    const bytes = this.bytes;
    // A plain loop: `set(subarray(...))` makes a view object per lease id.
    for (let i = 0; i < TOKEN_BYTES; i++) into[offset + i] = bytes[at + i]!;
  }

  private take(): number {
    if (this.offset === this.bytes.length) {
      this.random.fill(this.bytes);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += TOKEN_BYTES;
    return at;
  }
}
