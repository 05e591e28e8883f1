/**
 * Subsystems in the style of Mesos's cgroups isolator: each controller is a small plug-in with
 * fixed lifecycle verbs (prepare the limits, read usage) over a version-neutral view of one
 * container's cgroup. A backend (v1.ts, v2.ts) owns directories, membership and killing.
 */
import type { V1Controller, V2Controller } from './mountinfo.js';

export interface CgroupLimits {
  /** Fractional CPUs: the share weight, and the CFS quota when `cfsQuota` is on. */
  readonly cpus: number;
  readonly memBytes: number;
  readonly pidsMax: number;
  /** Hard-cap CPU time at `cpus` (CFS bandwidth control); off = shares/weight only. */
  readonly cfsQuota: boolean;
}

export interface CgroupUsage {
  readonly cpuTimeMs: number;
  readonly memoryBytes: number;
  readonly peakMemoryBytes: number;
  /** Processes the kernel OOM-killed in this cgroup so far. */
  readonly oomKills: number;
  readonly pidsCurrent: number;
}

/** One container's cgroup as a subsystem sees it: files addressed by controller. */
export interface CgroupView {
  readonly version: 'v1' | 'v2';
  /** Undefined when the file (or the controller's hierarchy) is absent. */
  read(controller: V1Controller, file: string): Promise<string | undefined>;
  write(controller: V1Controller, file: string, value: string): Promise<void>;
}

export interface Subsystem {
  readonly name: 'cpu' | 'memory' | 'pids';
  /** v1 hierarchies it reads or writes. */
  readonly v1Controllers: readonly V1Controller[];
  /** The v2 controller that must be enabled in the parent's cgroup.subtree_control. */
  readonly v2Controller: V2Controller;
  prepare(view: CgroupView, limits: CgroupLimits): Promise<void>;
  usage(view: CgroupView): Promise<Partial<CgroupUsage>>;
}
