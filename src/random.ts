/**
 * Randomness, injected so tests are deterministic.
 * `int` picks among free keys (uniformity matters, secrecy does not); `fill` makes secrets
 * (keys and lease ids) and must be cryptographically secure in production.
 */
export interface Random {
  /** A uniformly distributed integer in [0, bound). `bound` is at most 2^31. */
  int(bound: number): number;
  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): void;
}

/** Production randomness: `Math.random` for picks, the Web Crypto CSPRNG for secrets. */
export const systemRandom: Random = {
  int: (bound) => Math.floor(Math.random() * bound),
  fill: (bytes) => {
    // getRandomValues serves at most 65,536 bytes per call.
    for (let i = 0; i < bytes.length; i += 65_536) {
      globalThis.crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65_536)));
    }
  },
};

/**
 * A seeded, deterministic generator (SplitMix32 mixing) for tests and benchmarks.
 * Not for secrets.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return {
    int: (bound) => Math.floor((next() / 4_294_967_296) * bound),
    fill: (bytes) => {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
    },
  };
}
