import { z } from 'zod';
import { err, ok, type Result } from '../../../lib/result.js';
import { CommandInfo, WasmInfo } from '../../../protocol/index.js';
import type { PlainValue } from '../../core/messages.js';
import { parseResources } from '../../core/resources.js';
import type { TaskReason, TaskState, TaskStatusView } from '../../core/tasks.js';
import type { JobSpec } from './spec.js';

/**
 * A job as the jobs framework keeps it in the registry (durable: it survives a master restart).
 * `queued` → `placed` (launched on an agent) → `running` → one of the ended states. Pure data
 * and pure transitions; the framework (framework.ts) does the I/O.
 */
export const jobStates = [
  'queued',
  'placed',
  'running',
  'finished',
  'failed',
  'killed',
  'error',
  'lost',
] as const;
export type JobState = (typeof jobStates)[number];

const endedStates: ReadonlySet<JobState> = new Set([
  'finished',
  'failed',
  'killed',
  'error',
  'lost',
]);

export function isEnded(state: JobState): boolean {
  return endedStates.has(state);
}

/** What is kept of an ended job: enough to show it, not enough to run it again. */
export interface JobSummary {
  readonly runtime: 'wasm' | 'linux';
  readonly resources: Readonly<Record<string, number>>;
  readonly attributes: Readonly<Record<string, string>>;
  readonly digest?: string;
  readonly command?: string;
}

export interface JobRecord {
  readonly id: string;
  readonly name: string;
  readonly submittedAtMs: number;
  readonly summary: JobSummary;
  /** The full spec while the job may still be launched or relaunched; dropped when it ends. */
  readonly spec?: JobSpec;
  readonly state: JobState;
  readonly taskState?: TaskState;
  readonly agentId?: string;
  readonly hostname?: string;
  readonly reason?: TaskReason | 'REASON_KILLED_WHILE_QUEUED';
  readonly message?: string;
  readonly exitCode?: number;
  readonly fuelConsumed?: number;
  readonly peakMemoryBytes?: number;
  readonly durationMs?: number;
  readonly placedAtMs?: number;
  readonly startedAtMs?: number;
  readonly endedAtMs?: number;
  readonly killRequested?: boolean;
  /** Launches tried so far (absent: at most one). */
  readonly launchAttempts?: number;
}

/**
 * A launch that provably never ran is tried again, up to this many launches in all: the task
 * was dropped before it reached an agent, or reconciliation found that its agent (registered,
 * reporting every task it has, even ended ones awaiting acknowledgement) never had it, as after
 * a master crash between placing a job and the launch reaching the agent.
 */
export const JOB_LAUNCH_ATTEMPTS_MAX = 5;

function neverRan(job: JobRecord, status: TaskStatusView): boolean {
  if (job.startedAtMs !== undefined || job.state !== 'placed') return false;
  return (
    status.state === 'TASK_DROPPED' ||
    (status.state === 'TASK_GONE' && status.reason === 'REASON_RECONCILIATION')
  );
}

const COMMAND_SUMMARY_CHARS_MAX = 256;

export function newJob(id: string, spec: JobSpec, nowMs: number): JobRecord {
  const command = spec.command?.value ?? spec.command?.arguments?.join(' ');
  return {
    id,
    name: spec.name,
    submittedAtMs: nowMs,
    summary: {
      runtime: spec.runtime,
      resources: spec.resources,
      attributes: spec.attributes,
      ...(spec.wasm ? { digest: spec.wasm.digest } : {}),
      ...(command === undefined ? {} : { command: command.slice(0, COMMAND_SUMMARY_CHARS_MAX) }),
    },
    spec,
    state: 'queued',
  };
}

export function placeJob(
  job: JobRecord,
  agentId: string,
  hostname: string,
  nowMs: number,
): JobRecord {
  return {
    ...job,
    state: 'placed',
    taskState: 'TASK_STAGING',
    agentId,
    hostname,
    placedAtMs: nowMs,
  };
}

/** Back to the queue (the launch was refused before it reached an agent). */
export function requeueJob(job: JobRecord): JobRecord {
  const { agentId: _agent, hostname: _host, placedAtMs: _placed, taskState: _task, ...rest } = job;
  return { ...rest, state: 'queued' };
}

export function killQueuedJob(job: JobRecord, nowMs: number): JobRecord {
  return compact({
    ...job,
    state: 'killed',
    reason: 'REASON_KILLED_WHILE_QUEUED',
    message: 'killed before it was placed on an agent',
    endedAtMs: nowMs,
  });
}

/** The job state a task state means. */
export function jobStateOf(state: TaskState): JobState {
  switch (state) {
    case 'TASK_STAGING':
    case 'TASK_STARTING':
      return 'placed';
    case 'TASK_RUNNING':
    case 'TASK_KILLING':
    case 'TASK_UNREACHABLE':
      return 'running';
    case 'TASK_FINISHED':
      return 'finished';
    case 'TASK_FAILED':
      return 'failed';
    case 'TASK_KILLED':
      return 'killed';
    case 'TASK_ERROR':
      return 'error';
    default:
      return 'lost';
  }
}

/**
 * Applies a task status. `changed` says whether anything worth keeping durably changed (so
 * repeated and reconciliation answers do not cost a registry write).
 */
export function applyTaskStatus(
  job: JobRecord,
  status: TaskStatusView,
  nowMs: number,
): { readonly job: JobRecord; readonly changed: boolean } {
  if (isEnded(job.state)) return { job, changed: false };
  const attempts = job.launchAttempts ?? 1;
  if (neverRan(job, status) && attempts < JOB_LAUNCH_ATTEMPTS_MAX) {
    const requeued: JobRecord = {
      ...requeueJob(job),
      launchAttempts: attempts + 1,
      message: `launch ${attempts} never ran (${status.state}: ${status.message ?? 'no message'}); queued again`,
    };
    return { job: requeued, changed: true };
  }
  const state = jobStateOf(status.state);
  // A late STARTING after RUNNING (or a reconciliation answer) must not move a job back.
  if (state === 'placed' && job.state === 'running') return { job, changed: false };
  if (state === job.state && !isEnded(state)) {
    const taskChanged = status.state !== job.taskState;
    return { job: taskChanged ? { ...job, taskState: status.state } : job, changed: taskChanged };
  }
  const next: JobRecord = {
    ...job,
    state,
    taskState: status.state,
    ...(status.agentId ? { agentId: status.agentId } : {}),
    ...(state === 'running' && job.startedAtMs === undefined ? { startedAtMs: nowMs } : {}),
    ...resultFields(status),
  };
  return { job: isEnded(state) ? compact({ ...next, endedAtMs: nowMs }) : next, changed: true };
}

function resultFields(status: TaskStatusView): Partial<JobRecord> {
  return {
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    ...(status.message === undefined ? {} : { message: status.message }),
    ...(status.exitCode === undefined ? {} : { exitCode: status.exitCode }),
    ...(status.fuelConsumed === undefined ? {} : { fuelConsumed: status.fuelConsumed }),
    ...(status.peakMemoryBytes === undefined ? {} : { peakMemoryBytes: status.peakMemoryBytes }),
    ...(status.durationMs === undefined ? {} : { durationMs: status.durationMs }),
  };
}

/** An ended job keeps its summary and result, not its spec: the registry stays small. */
function compact(job: JobRecord): JobRecord {
  const { spec: _spec, killRequested: _kill, ...rest } = job;
  return rest;
}

/** A plain value for the registry (undefined fields dropped). */
export function encodeJob(job: JobRecord): PlainValue {
  return JSON.parse(JSON.stringify(job)) as PlainValue;
}

const time = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const natural = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const specSchema = z.strictObject({
  name: z.string().max(256),
  runtime: z.enum(['wasm', 'linux']),
  resources: z.record(z.string(), z.number().finite().min(0)),
  attributes: z.record(z.string(), z.string()),
  wasm: WasmInfo.optional(),
  command: CommandInfo.optional(),
});
const recordSchema = z.strictObject({
  id: z.string().min(1).max(256),
  name: z.string().max(256),
  submittedAtMs: time,
  summary: z.strictObject({
    runtime: z.enum(['wasm', 'linux']),
    resources: z.record(z.string(), z.number().finite().min(0)),
    attributes: z.record(z.string(), z.string()),
    digest: z.string().optional(),
    command: z.string().optional(),
  }),
  spec: specSchema.optional(),
  state: z.enum(jobStates),
  taskState: z.string().optional(),
  agentId: z.string().optional(),
  hostname: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  exitCode: z.number().int().optional(),
  fuelConsumed: natural.optional(),
  peakMemoryBytes: natural.optional(),
  durationMs: natural.optional(),
  placedAtMs: time.optional(),
  startedAtMs: time.optional(),
  endedAtMs: time.optional(),
  killRequested: z.boolean().optional(),
  launchAttempts: z.number().int().min(1).max(JOB_LAUNCH_ATTEMPTS_MAX).optional(),
});

/** Reads a record back from the registry; one we cannot read is reported, not fatal. */
export function decodeJob(id: string, value: unknown): Result<JobRecord, string> {
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success)
    return err(`job ${id} is not readable: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  if (parsed.data.id !== id) return err(`job ${id} is stored under another id`);
  if (!isEnded(parsed.data.state) && !parsed.data.spec)
    return err(`job ${id} is ${parsed.data.state} but has no spec`);
  const resources = parseResources(parsed.data.summary.resources);
  if (!resources.ok) return err(`job ${id}: ${resources.error.message}`);
  return ok(parsed.data as JobRecord);
}
