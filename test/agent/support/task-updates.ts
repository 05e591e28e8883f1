import type { TaskInfo } from '../../../protocol/messages/task.js';
import { eventually, type FakeMaster } from './fake-master.js';

/** A hang guard for conditions that need real processes to run, generous for a loaded host. */
export const AGENT_DEADLINE_MS = 60_000;

export function updatesOf(master: FakeMaster, taskId: string) {
  return master.statusUpdates().filter((update) => update.status.task_id.value === taskId);
}

/** Acknowledges a task's updates as they come (the agent sends the next only after) until one in `states` arrives. */
export async function untilState(master: FakeMaster, taskId: string, states: readonly string[]) {
  const acknowledged = new Set<string>();
  return eventually(
    `${taskId} in ${states.join('/')}`,
    () => {
      for (const update of updatesOf(master, taskId)) {
        if (acknowledged.has(update.status.uuid)) continue;
        acknowledged.add(update.status.uuid);
        master.acknowledge(update);
      }
      return updatesOf(master, taskId).find((update) => states.includes(update.status.state));
    },
    AGENT_DEADLINE_MS,
  );
}

/** A `linux` command task run with /bin/sh -c. */
export function commandTask(
  taskId: string,
  command: string,
  resources: { cpus?: number; mem?: number; disk?: number } = {},
): TaskInfo {
  const { cpus = 0.5, mem = 64, disk } = resources;
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'agent' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
      { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
      ...(disk === undefined
        ? []
        : [{ name: 'disk', type: 'SCALAR' as const, scalar: { value: disk } }]),
    ],
    command: { shell: true, value: command },
  };
}
