import type { GrpcResult } from "./grpc-section.js";
import type { H2Result } from "./h2load-section.js";
import type { MachineInfo } from "./machine.js";
import type { MemoryResult } from "./memory.js";
import type { PeerResult } from "./peer-section.js";
import type { ClusterResult } from "./cluster-section.js";
import type { GoalRow } from "./plan.js";
import type { PoolCoreResult } from "./pool-core.js";
import type { PoolsResult } from "./pools/pools-section.js";
import type { StoresResult } from "./stores-section.js";
import type { StormSectionResult } from "./storm.js";

/** A section that could not run says why, instead of a result. */
export interface Failed {
  readonly error: string;
}

/** Machine load (1-minute load average) when a run started and ended: other work skews figures. */
export interface LoadInfo {
  readonly before: number;
  readonly after: number;
}

/** The JSON written to bench/results/latest.json (full) or quick.json (--quick). */
export interface BenchResults {
  readonly schema: 1;
  readonly mode: "quick" | "full";
  readonly machine: MachineInfo;
  readonly load: LoadInfo;
  readonly durationS: number;
  readonly memoryLatencyNs: Record<string, number>;
  readonly sections: {
    readonly poolCore?: PoolCoreResult | Failed;
    readonly memory?: MemoryResult | Failed;
    readonly storm?: StormSectionResult | Failed;
    readonly h2load?: H2Result | Failed;
    readonly grpc?: GrpcResult | Failed;
    readonly stores?: StoresResult | Failed;
    readonly peer?: PeerResult | Failed;
    readonly cluster?: ClusterResult | Failed;
    readonly pools?: PoolsResult | Failed;
  };
  readonly goals: GoalRow[];
}

/** True when a section ran. */
export function ran<T extends object>(section: T | Failed | undefined): section is T {
  return section !== undefined && !("error" in section);
}
