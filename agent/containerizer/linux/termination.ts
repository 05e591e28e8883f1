/** How a task's end is named: pure, from what the supervisor observed. */
import type { Termination } from '../containerizer.js';

export interface ObservedEnd {
  /** The cgroup was joined and the task exec'd; false = it never started. */
  readonly joined: boolean;
  readonly launchError?: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKills: number;
  readonly killRequested: boolean;
  readonly memLimitBytes: number;
  readonly durationMs: number;
  readonly cpuTimeMs: number;
  readonly peakMemoryBytes: number;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

function how(end: ObservedEnd): string {
  return end.signal !== null
    ? `was terminated by ${end.signal}`
    : `exited with code ${end.exitCode}`;
}

export function classifyEnd(end: ObservedEnd): Termination {
  const common = {
    durationMs: end.durationMs,
    cpuTimeMs: end.cpuTimeMs,
    peakMemoryBytes: end.peakMemoryBytes,
    exitCode: end.signal === null ? end.exitCode : null,
    ...(end.signal === null ? {} : { signal: end.signal }),
  };
  if (!end.joined) {
    return {
      ...common,
      exitCode: null,
      reason: 'launch_failed',
      message: `the task could not be started: ${end.launchError ?? `its launcher ${how(end)}`}`,
    };
  }
  // OOM first: a kill requested while the kernel was already OOM-killing is still an OOM.
  if (end.oomKills > 0) {
    return {
      ...common,
      reason: 'memory_limit',
      message: `the task exceeded its memory limit of ${mib(end.memLimitBytes)} and was OOM-killed (${end.oomKills} process(es))`,
    };
  }
  if (end.killRequested) {
    return {
      ...common,
      reason: 'killed',
      message: `the task was killed on request and ${how(end)}`,
    };
  }
  return { ...common, reason: 'exited', message: `the task ${how(end)}` };
}

export function lostTermination(message: string, durationMs: number): Termination {
  return { exitCode: null, reason: 'lost', message, durationMs };
}
