import v8 from "node:v8";

/** Heap + external bytes now, after full collections. */
export interface Footprint {
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly total: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** What the process holds now, after four full GCs (needs node --expose-gc). */
export function footprint(): Footprint {
  if (!gc) throw new Error("run with --expose-gc");
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  const heapUsed = v8.getHeapStatistics().used_heap_size;
  return { heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, total: heapUsed + m.external };
}

/** Bytes per key between two footprints: heap, external and total, to 0.1 B. */
export function delta(after: Footprint, before: Footprint, size: number): Record<string, number> {
  const per = (a: number, b: number): number => Math.round(((a - b) / size) * 10) / 10;
  return {
    heapBytesPerKey: per(after.heapUsed, before.heapUsed),
    externalBytesPerKey: per(after.external, before.external),
    totalBytesPerKey: per(after.total, before.total),
  };
}
