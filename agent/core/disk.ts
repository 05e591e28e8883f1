import type { DiskUsage } from '../sandbox/disk-usage.js';

const MiB = 1024 * 1024;

/**
 * A limit a running task went past, found by the agent rather than by its runtime (Mesos's
 * container limitation): the task is killed and its terminal update carries this reason.
 */
export interface Limitation {
  readonly reason: 'REASON_CONTAINER_LIMITATION_DISK';
  readonly message: string;
}

/**
 * Whether a sandbox measurement is over the task's `disk` (MiB). A task without a disk
 * resource (0) has no disk limit. A lower-bound measurement that is already over counts.
 */
export function diskLimitation(usage: DiskUsage, diskMiB: number): Limitation | undefined {
  if (!(diskMiB > 0)) return undefined;
  const limitBytes = diskMiB * MiB;
  if (usage.bytes <= limitBytes) return undefined;
  const used = (usage.bytes / MiB).toFixed(1);
  return {
    reason: 'REASON_CONTAINER_LIMITATION_DISK',
    message: `disk limit exceeded: the sandbox uses ${usage.complete ? '' : 'at least '}${used} MiB of the task's ${diskMiB} MiB disk`,
  };
}
