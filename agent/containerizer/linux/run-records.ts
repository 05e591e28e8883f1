/**
 * The records kept in a run directory and the agent's checkpoint, with their parsers. Written
 * by hand rather than with a schema library: the supervisor starts once per task, and loading a
 * schema library costs more than the rest of its start-up. Every parser returns undefined for
 * anything malformed; nothing read from disk is trusted without one.
 */
import type { Termination, TerminationReason } from '../containerizer.js';
import type { CgroupPaths } from './cgroups/backend.js';
import type { CgroupLayout, V1Controller } from './cgroups/mountinfo.js';
import { V1_CONTROLLERS } from './cgroups/mountinfo.js';
import type { Subsystem } from './cgroups/subsystem.js';
import type { ProcessIdentity } from './process-identity.js';

type Fields = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);
const isId = (value: unknown): value is number =>
  isNumber(value) && Number.isInteger(value) && value >= 0;

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every(isString) ? value : undefined;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  return Object.values(value).every(isString) ? (value as Record<string, string>) : undefined;
}

function controllerDirs(value: unknown): Partial<Record<V1Controller, string>> | undefined {
  if (!isObject(value)) return undefined;
  const dirs: Partial<Record<V1Controller, string>> = {};
  for (const [key, dir] of Object.entries(value)) {
    if (!(V1_CONTROLLERS as readonly string[]).includes(key) || !isString(dir)) return undefined;
    dirs[key as V1Controller] = dir;
  }
  return dirs;
}

export function parseCgroupPaths(value: unknown): CgroupPaths | undefined {
  if (!isObject(value)) return undefined;
  if (value['version'] === 'v2')
    return isString(value['dir']) ? { version: 'v2', dir: value['dir'] } : undefined;
  if (value['version'] !== 'v1') return undefined;
  const dirs = controllerDirs(value['dirs']);
  return dirs ? { version: 'v1', dirs } : undefined;
}

export function parseCgroupLayout(value: unknown): CgroupLayout | undefined {
  if (!isObject(value)) return undefined;
  if (value['version'] === 'v2') {
    return isString(value['mountPoint'])
      ? { version: 'v2', mountPoint: value['mountPoint'] }
      : undefined;
  }
  if (value['version'] !== 'v1') return undefined;
  const hierarchies = controllerDirs(value['hierarchies']);
  return hierarchies ? { version: 'v1', hierarchies } : undefined;
}

export function parseProcessIdentity(value: unknown): ProcessIdentity | undefined {
  if (!isObject(value) || !isId(value['pid']) || !isString(value['startTicks'])) return undefined;
  return { pid: value['pid'], startTicks: value['startTicks'] };
}

export interface RunningRecord {
  readonly taskPid: number;
  readonly startedAtMs: number;
}

export function parseRunning(value: unknown): RunningRecord | undefined {
  if (!isObject(value) || !isId(value['taskPid']) || !isNumber(value['startedAtMs']))
    return undefined;
  return { taskPid: value['taskPid'], startedAtMs: value['startedAtMs'] };
}

const REASONS: readonly TerminationReason[] = [
  'exited',
  'killed',
  'memory_limit',
  'fuel_exhausted',
  'timeout',
  'trap',
  'stack_overflow',
  'launch_failed',
  'lost',
];

function optionalNumber(value: unknown): value is number | undefined {
  return value === undefined || isNumber(value);
}

export function parseTermination(value: unknown): Termination | undefined {
  if (!isObject(value)) return undefined;
  const { exitCode, signal, reason, message, durationMs, peakMemoryBytes, cpuTimeMs } = value;
  if (!(exitCode === null || (isNumber(exitCode) && Number.isInteger(exitCode)))) return undefined;
  if (!(signal === undefined || isString(signal))) return undefined;
  if (
    !REASONS.includes(reason as TerminationReason) ||
    !isString(message) ||
    !isNumber(durationMs)
  ) {
    return undefined;
  }
  if (!optionalNumber(peakMemoryBytes) || !optionalNumber(cpuTimeMs)) return undefined;
  return {
    exitCode,
    reason: reason as TerminationReason,
    message,
    durationMs,
    ...(signal === undefined ? {} : { signal }),
    ...(peakMemoryBytes === undefined ? {} : { peakMemoryBytes }),
    ...(cpuTimeMs === undefined ? {} : { cpuTimeMs }),
  };
}

/** What the containerizer tells the supervisor to start (spec.json). */
export interface SupervisorSpec {
  readonly containerId: string;
  readonly sandboxDir: string;
  readonly layout: CgroupLayout;
  readonly subsystems: readonly Subsystem['name'][];
  readonly cgroup: CgroupPaths;
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly uid: number;
  readonly gid: number;
  readonly memLimitBytes: number;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

const SUBSYSTEM_NAMES: readonly string[] = ['cpu', 'memory', 'pids'];

export function parseSupervisorSpec(value: unknown): SupervisorSpec | undefined {
  if (!isObject(value)) return undefined;
  const layout = parseCgroupLayout(value['layout']);
  const cgroup = parseCgroupPaths(value['cgroup']);
  const subsystems = stringList(value['subsystems']);
  const args = stringList(value['args']);
  const env = stringMap(value['env']);
  const { containerId, sandboxDir, file, uid, gid, memLimitBytes, stdoutPath, stderrPath } = value;
  if (!layout || !cgroup || !subsystems || !args || !env) return undefined;
  if (!subsystems.every((name) => SUBSYSTEM_NAMES.includes(name))) return undefined;
  if (!isString(containerId) || !isString(sandboxDir) || !isString(file)) return undefined;
  if (!isString(stdoutPath) || !isString(stderrPath)) return undefined;
  if (!isId(uid) || !isId(gid) || !isNumber(memLimitBytes)) return undefined;
  return {
    containerId,
    sandboxDir,
    layout,
    subsystems: subsystems as Subsystem['name'][],
    cgroup,
    file,
    args,
    env,
    uid,
    gid,
    memLimitBytes,
    stdoutPath,
    stderrPath,
  };
}

/** What the agent checkpoints for each container (the object `launch` returns). */
export interface CheckpointState {
  readonly runDir: string;
  readonly supervisor: ProcessIdentity;
  readonly cgroup: CgroupPaths;
}

export function parseCheckpointState(value: unknown): CheckpointState | undefined {
  if (!isObject(value) || !isString(value['runDir'])) return undefined;
  const supervisor = parseProcessIdentity(value['supervisor']);
  const cgroup = parseCgroupPaths(value['cgroup']);
  return supervisor && cgroup ? { runDir: value['runDir'], supervisor, cgroup } : undefined;
}
