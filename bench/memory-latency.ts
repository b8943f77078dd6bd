/**
 * Random-access latency of this machine's memory at a few working-set sizes (a dependent
 * pointer chase through a shuffled cycle, so no prefetcher helps). It explains why per-op cost
 * grows with pool size: at 10^6 keys the pool's working set is far beyond the caches.
 */
const STEPS = 1_000_000;

function chase(bytes: number): number {
  const n = Math.max(16, Math.floor(bytes / 4));
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) next[order[i]!] = order[(i + 1) % n]!;
  let p = 0;
  for (let i = 0; i < 10_000; i++) p = next[p]!; // warm the JIT and the caches
  const start = performance.now();
  for (let i = 0; i < STEPS; i++) p = next[p]!;
  const ns = ((performance.now() - start) * 1e6) / STEPS;
  return p === -1 ? -1 : Math.round(ns * 10) / 10;
}

/** ns per dependent random load at 32 KiB, 1 MiB, 16 MiB and 256 MiB working sets. */
export function memoryLatencyNs(): Record<string, number> {
  return { "32KiB": chase(32 << 10), "1MiB": chase(1 << 20), "16MiB": chase(16 << 20), "256MiB": chase(256 << 20) };
}
