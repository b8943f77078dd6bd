/**
 * Child process: one load generator. "prepare" connects to a server and prepares a workload
 * (keypool or etcd); "run" drives it from `startAt` for `warmupMs + durationMs` (wall clock,
 * so several clients share one window) and answers "done" with what it measured. Every loop is
 * bounded in time and count; the process exits on "stop" or when the orchestrator goes away.
 */
import { serveParent, reply } from "./child.js";
import { etcdWorkload } from "./etcd-workload.js";
import { keypoolWorkload } from "./keypool-workloads.js";
import type { Workload, WorkloadSpec } from "./keypool-workloads.js";
import { Recorder, sleepUntil } from "./recorder.js";

let workload: Workload | undefined;

serveParent(
  async (m) => {
    if (m.type === "prepare") {
      workload?.close();
      const spec = m.spec as WorkloadSpec;
      const address = m.address as string;
      workload = spec.name.startsWith("etcd") ? await etcdWorkload(address, spec) : await keypoolWorkload(address, spec);
      reply({ type: "prepared" });
    } else if (m.type === "run") {
      if (!workload) throw new Error("run before prepare");
      const startAt = m.startAt as number;
      const rec = new Recorder(startAt + (m.warmupMs as number), startAt + (m.warmupMs as number) + (m.durationMs as number));
      await sleepUntil(startAt);
      await workload.run(rec);
      reply({ type: "done", report: rec.report() });
    }
  },
  () => workload?.close(),
);
