import type { BenchResults } from "./results.js";
import { ran } from "./results.js";
import { clusterTable } from "./cluster-section.js";
import { poolsTables } from "./pools/pools-section.js";

/** A titled table: what each section prints and what the docs show. */
export interface Table {
  readonly title: string;
  readonly method?: string | undefined;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

const fmt = (n: number | undefined): string => (n === undefined ? "-" : n.toLocaleString("en-US"));

function poolTables(r: BenchResults): Table[] {
  const s = r.sections;
  const out: Table[] = [];
  const core = s.poolCore;
  if (ran(core)) {
    const ops = Object.keys(core.rows[0]!.nsPerOp);
    out.push({
      title: "1. Pool core, ns/op (median of runs)",
      method: core.method,
      headers: ["keys", ...ops],
      rows: [
        ...core.rows.map((row) => [fmt(row.size), ...ops.map((op) => fmt(row.nsPerOp[op]))]),
        ["flatness", ...ops.map((op) => String(core.flatness[op]))],
      ],
    });
  }
  if (ran(s.memory)) {
    const m = s.memory;
    out.push({
      title: `2. Memory at ${fmt(m.keys)} keys, bytes per key`,
      method: m.method,
      headers: ["state", "V8 heap", "external (ArrayBuffers)", "total"],
      rows: [
        ["all free", m.allFree.heapBytesPerKey!, m.allFree.externalBytesPerKey!, m.allFree.totalBytesPerKey!],
        ["all blocked", m.allBlocked.heapBytesPerKey!, m.allBlocked.externalBytesPerKey!, m.allBlocked.totalBytesPerKey!],
      ],
    });
    out.push({ title: "2b. Where the bytes go (layout, predicted)", headers: ["part", "B/key", "where"], rows: m.layout.map((p) => [p.part, p.bytesPerKey, p.where]) });
  }
  return out;
}

function stormTable(r: BenchResults): Table[] {
  const storm = r.sections.storm;
  if (!ran(storm)) return [];
  return [{
    title: "3. Expiry storm",
    method: storm.method,
    headers: [
      "deadline", "keys", "sweep ms", "max stall before (CPU-busy / wall) ms", "max stall in storm (CPU-busy / wall) ms",
      "p50/p99 before ms", "p50/p99 in storm ms", "errors in storm", "foreign CPU",
    ],
    rows: storm.storms.map((x) => [
      x.mode, fmt(x.keys), x.sweepMs, `${x.longestBusyStallBeforeMs} / ${x.longestStallBeforeMs}`, `${x.longestBusyStallMs} / ${x.longestStallMs}`,
      `${x.before.p50Ms} / ${x.before.p99Ms}`, `${x.during.p50Ms} / ${x.during.p99Ms}`, JSON.stringify(x.during.errors),
      `${Math.round(x.foreignCpu * 100)}%`,
    ]),
  }];
}

function transportTables(r: BenchResults): Table[] {
  const s = r.sections;
  const out: Table[] = [...stormTable(r)];
  if (ran(s.h2load)) {
    const h = s.h2load;
    out.push({
      title: "4a. Server capacity per unary RPC, h2load (memory store)",
      method: h.method,
      headers: ["RPC", "server CPU us/RPC", "capacity x echo (CPU)", "RPC/s", "x echo (RPC/s)", "mean ms", "rounds RPC/s", "gRPC codes"],
      rows: h.rows
        ? h.rows.map((x) => [x.rpc, x.serverCpuUs, x.cpuVsEcho, fmt(x.reqPerSec), x.vsEcho, x.meanMs, x.rounds.join(" / "), JSON.stringify(x.codes)])
        : [["-", `not measured: ${h.notMeasured}`, "", "", "", "", "", ""]],
    });
  }
  if (ran(s.grpc)) {
    out.push({
      title: "4b. Over gRPC with grpc-js load clients (memory store)",
      method: s.grpc.method,
      headers: ["workload", "ops/s", "keys/s", "p50 ms", "p99 ms", "server CPU us/op", "client CPU us/op", "foreign CPU", "rounds ops/s", "errors"],
      rows: s.grpc.results.map((x) => [
        x.workload, fmt(x.opsPerSec), fmt(x.itemsPerSec), x.p50Ms, x.p99Ms, x.serverCpuUsPerOp ?? "-", x.clientCpuUsPerOp,
        `${Math.round(x.foreignCpu * 100)}%`, x.rounds.join(" / "), JSON.stringify(x.errors),
      ]),
    });
  }
  return out;
}

function comparisonTables(r: BenchResults): Table[] {
  const s = r.sections;
  const out: Table[] = [];
  if (ran(s.stores)) {
    const names = ["acquire-release", "keepalive-unary", "keepalive-stream"];
    out.push({
      title: "5. Stores side by side (ops/s, keys/s for the stream; ratio to memory)",
      method: s.stores.method,
      headers: ["store", ...names, "p99 ms (acq+rel / ka / stream)"],
      rows: s.stores.rows.map((row) =>
        row.results
          ? [row.store, ...names.map((n) => {
              const x = row.results!.find((y) => y.workload === n)!;
              return `${fmt(x.itemsPerSec)} (x${row.ratios?.[n] ?? "-"})`;
            }), row.results.map((x) => x.p99Ms).join(" / ")]
          : [row.store, `not measured: ${row.notMeasured}`, "", "", ""],
      ),
    });
  }
  if (ran(s.peer)) {
    const p = s.peer;
    const rows = p.notMeasured
      ? [["etcd", `not measured: ${p.notMeasured}`, "", "", "", ""]]
      : [
          ...(p.keypool ?? []).map((x, i) => [`keypool KeepAlive (${i === 0 ? "1 key" : "100 keys"}/msg)`, fmt(x.opsPerSec), fmt(x.itemsPerSec), x.p50Ms, x.p99Ms, JSON.stringify(x.errors)]),
          ...(p.etcd ? [[`etcd ${(p.etcdVersion ?? "").replace(/^etcd Version:\s*/, "")} LeaseKeepAlive (1 lease/msg)`, fmt(p.etcd.opsPerSec), fmt(p.etcd.itemsPerSec), p.etcd.p50Ms, p.etcd.p99Ms, JSON.stringify(p.etcd.errors)]] : []),
        ];
    out.push({ title: "6. Peer: keepalive streams, keypool vs etcd", method: p.method, headers: ["system", "msgs/s", "keys/s", "p50 ms", "p99 ms", "errors"], rows });
  }
  if (ran(s.cluster)) out.push(clusterTable(s.cluster));
  if (ran(s.pools)) out.push(...poolsTables(s.pools));
  return out;
}

/** Every table of a result set: goals first, then one or two per section. */
export function tables(r: BenchResults): Table[] {
  const failed = Object.entries(r.sections).filter(([, v]) => v && "error" in v).map(([k, v]) => [k, (v as { error: string }).error]);
  return [
    { title: "Goals", headers: ["section", "what", "goal", "measured", "status", "note"], rows: r.goals.map((g) => [g.section, g.what, g.goal, g.measured, g.status, g.note ?? ""]) },
    ...poolTables(r),
    ...transportTables(r),
    ...comparisonTables(r),
    ...(failed.length ? [{ title: "Sections that failed", headers: ["section", "error"], rows: failed }] : []),
  ];
}

/** A table as aligned plain text. */
export function textTable(t: Table): string {
  const cells = [t.headers, ...t.rows].map((row) => row.map(String));
  const widths = t.headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [`== ${t.title}`, line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** A table as GitHub markdown, with its method as a note below. */
export function markdownTable(t: Table): string {
  const esc = (c: string | number): string => String(c).replaceAll("|", "\\|");
  return [
    `### ${t.title}`,
    "",
    `| ${t.headers.map(esc).join(" | ")} |`,
    `| ${t.headers.map(() => "---").join(" | ")} |`,
    ...t.rows.map((row) => `| ${row.map(esc).join(" | ")} |`),
    ...(t.method ? ["", `<sub>How: ${t.method}.</sub>`] : []),
  ].join("\n");
}

/** The header every printout starts with: where and how it was measured. */
export function machineLine(r: BenchResults): string {
  const m = r.machine;
  return (
    `${r.mode} run, ${m.date}: ${m.nproc} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node} (V8 ${m.v8}), ` +
    `git ${m.gitRevision}; command: ${m.command}; load average ${r.load.before} at start, ${r.load.after} at end; ` +
    `random memory access ${Object.entries(r.memoryLatencyNs).map(([k, v]) => `${k} ${v} ns`).join(", ")}; took ${r.durationS} s`
  );
}
