/** The subsystem registry (Mesos's name → create table) and their combination into one set. */
import type { SubsystemSet } from '../backend.js';
import type { CgroupUsage, Subsystem } from '../subsystem.js';
import { cpuSubsystem } from './cpu.js';
import { memorySubsystem } from './memory.js';
import { pidsSubsystem } from './pids.js';

export const subsystemRegistry = {
  cpu: cpuSubsystem,
  memory: memorySubsystem,
  pids: pidsSubsystem,
} as const satisfies Record<Subsystem['name'], Subsystem>;

export const allSubsystems: readonly Subsystem[] = Object.values(subsystemRegistry);

const EMPTY_USAGE: CgroupUsage = {
  cpuTimeMs: 0,
  memoryBytes: 0,
  peakMemoryBytes: 0,
  oomKills: 0,
  pidsCurrent: 0,
};

export function combineSubsystems(subsystems: readonly Subsystem[]): SubsystemSet {
  return {
    async prepare(view, limits) {
      for (const subsystem of subsystems) await subsystem.prepare(view, limits);
    },
    async usage(view) {
      let usage = EMPTY_USAGE;
      for (const subsystem of subsystems) usage = { ...usage, ...(await subsystem.usage(view)) };
      return usage;
    },
  };
}
