/**
 * A process named by pid AND start time, so a recycled pid is never mistaken for the supervisor
 * we started (the agent may restart long after the supervisor died).
 */
import { readFile } from 'node:fs/promises';

export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot; stable for the process's life. */
  readonly startTicks: string;
}

/** Pure: the start time from a /proc/<pid>/stat line (the command may hold spaces and ')'). */
export function startTicksFromStat(stat: string): string | undefined {
  const afterCommand = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) " the fields start at field 3 (state); field 22 is index 19.
  const ticks = afterCommand[19];
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
}

export async function readProcessIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  try {
    const ticks = startTicksFromStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    return ticks === undefined ? undefined : { pid, startTicks: ticks };
  } catch {
    return undefined;
  }
}

/** True while that very process exists and has not exited (a zombie counts as gone). */
export async function isAlive(identity: ProcessIdentity): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${identity.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return startTicksFromStat(stat) === identity.startTicks && state !== 'Z';
  } catch {
    return false;
  }
}
