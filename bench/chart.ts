/**
 * Renders the pool-core results as an SVG line chart of ns/op against pool size (log scale),
 * one line per operation; no chart library. Run alone to redraw from saved results:
 * `tsx bench/chart.ts [bench/results/latest.json] [docs/performance-chart.svg]`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PoolCoreResult } from "./pool-core.js";
import type { BenchResults } from "./results.js";
import { ran } from "./results.js";

const W = 760;
const H = 440;
const PAD = { left: 70, right: 190, top: 56, bottom: 56 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#111111"];

const esc = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at or above `v`. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v)!;
}

/** The SVG chart of `core` with `subtitle` (machine and command) under the title. */
export function renderChart(core: PoolCoreResult, subtitle: string): string {
  const sizes = core.rows.map((r) => r.size);
  const ops = Object.keys(core.rows[0]!.nsPerOp);
  const yMax = niceMax(Math.max(...core.rows.flatMap((r) => Object.values(r.nsPerOp))) * 1.05);
  const [lo, hi] = [Math.log10(sizes[0]!), Math.log10(sizes[sizes.length - 1]!)];
  const x = (size: number): number => PAD.left + ((Math.log10(size) - lo) / Math.max(1e-9, hi - lo)) * (W - PAD.left - PAD.right);
  const y = (ns: number): number => H - PAD.bottom - (ns / yMax) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${PAD.left}" y="22" font-size="15" font-weight="bold">KeyPool core: ns/op against pool size (lower and flatter is better)</text>`,
    `<text x="${PAD.left}" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${PAD.left - 8}" y="${y(v) + 4}" text-anchor="end">${v.toLocaleString("en-US")}</text>`);
  }
  for (const size of sizes) {
    parts.push(`<line x1="${x(size)}" x2="${x(size)}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(size)}" y="${H - PAD.bottom + 18}" text-anchor="middle">10^${Math.round(Math.log10(size))}</text>`);
  }
  parts.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 14}" text-anchor="middle">keys in the pool (log scale)</text>`);
  parts.push(`<text transform="translate(18 ${(PAD.top + H - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">ns per operation</text>`);
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(1000)}" y2="${y(1000)}" stroke="#d62728" stroke-dasharray="4 4" opacity="${1000 <= yMax ? 0.7 : 0}"/>`);
  ops.forEach((op, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = core.rows.map((r) => `${x(r.size).toFixed(1)},${y(r.nsPerOp[op]!).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const r of core.rows) parts.push(`<circle cx="${x(r.size).toFixed(1)}" cy="${y(r.nsPerOp[op]!).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = PAD.top + 10 + i * 20;
    parts.push(`<line x1="${W - PAD.right + 16}" x2="${W - PAD.right + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${W - PAD.right + 42}" y="${ly + 4}">${esc(op)} (x${core.flatness[op]})</text>`);
  });
  const ly = PAD.top + 10 + ops.length * 20 + 6;
  parts.push(`<text x="${W - PAD.right + 16}" y="${ly + 4}" fill="#555">(xN: 10^6 / 10^3 cost)</text>`);
  parts.push(`<text x="${W - PAD.right + 16}" y="${ly + 22}" fill="#d62728">- - 1 us pair goal</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Writes the chart of `results` to `svgPath`; false when the pool-core section did not run. */
export function writeChart(results: BenchResults, svgPath: string): boolean {
  const core = results.sections.poolCore;
  if (!ran(core)) return false;
  const m = results.machine;
  writeFileSync(svgPath, renderChart(core, `${m.nproc} x ${m.cpuModel}, node ${m.node}, ${m.date.slice(0, 10)}, ${m.command}`));
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const json = process.argv[2] ?? fileURLToPath(new URL("results/latest.json", import.meta.url));
  const svg = process.argv[3] ?? fileURLToPath(new URL("../docs/performance-chart.svg", import.meta.url));
  if (!writeChart(JSON.parse(readFileSync(json, "utf8")) as BenchResults, svg)) throw new Error(`${json} has no pool-core results`);
  process.stdout.write(`wrote ${svg}\n`);
}
