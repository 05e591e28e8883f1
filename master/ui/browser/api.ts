import {
  attributes,
  flag,
  list,
  number,
  object,
  optionalText,
  resources,
  text,
  type JsonObject,
  type Resources,
} from './json.js';

/**
 * The operator JSON API as the UI reads it (docs/UI.md lists the endpoints). Paths are relative
 * to the page (/ui/), so the UI works behind a proxy that mounts the master under a path; the
 * browser sends the page's HTTP Basic credentials, if the master asked for them, with each call.
 */

/** Tasks asked for on the tasks page (the API's own bound is larger). */
export const UI_TASKS_LISTED_MAX = 500;
/** Jobs asked for on the jobs page. */
export const UI_JOBS_LISTED_MAX = 200;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson(path: string, signal: AbortSignal): Promise<unknown> {
  const response = await fetch(`../api/v1/${path}`, {
    signal,
    headers: { accept: 'application/json' },
    cache: 'no-store',
    // A standby master answers 307 to the leader, another origin the CSP forbids anyway.
    redirect: 'manual',
  });
  if (response.type === 'opaqueredirect')
    throw new ApiError(
      307,
      `${path}: this master does not lead now (the Overview names the leader)`,
    );
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, `${path}: HTTP ${response.status}, not JSON`);
  }
  if (!response.ok) {
    const error = object(object(body)['error']);
    const message = text(error['message'], `HTTP ${response.status}`);
    throw new ApiError(response.status, `${path}: ${message}`);
  }
  return body;
}

export interface UnavailableRuntime {
  readonly runtime: string;
  readonly cause: string;
  readonly reason: string;
}

export interface Agent {
  readonly id: string;
  readonly hostname: string;
  readonly status: string;
  readonly resources: Resources;
  readonly used: Resources;
  readonly free: Resources;
  readonly runtimes: readonly string[];
  readonly unavailableRuntimes: readonly UnavailableRuntime[];
  readonly attributes: ReadonlyArray<readonly [string, string]>;
  readonly tasks: number;
}

export function agentOf(value: unknown): Agent {
  const json = object(value);
  return {
    id: text(json['id']),
    hostname: text(json['hostname']),
    status: text(json['status'], 'unknown'),
    resources: resources(json['resources']),
    used: resources(json['used_resources']),
    free: resources(json['free_resources']),
    runtimes: list(json['runtimes']).map((runtime) => text(runtime)),
    unavailableRuntimes: list(json['unavailable_runtimes']).map((entry) => {
      const runtime = object(entry);
      return {
        runtime: text(runtime['runtime']),
        cause: text(runtime['cause']),
        reason: text(runtime['reason']),
      };
    }),
    attributes: attributes(json['attributes']),
    tasks: number(json['tasks']) ?? 0,
  };
}

export interface Framework {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly user: string;
  readonly principal: string;
  readonly connected: boolean;
  readonly suppressed: boolean;
  readonly used: Resources;
  readonly offers: number;
  readonly tasks: number;
  readonly completedTasks: number;
}

export function frameworkOf(value: unknown): Framework {
  const json = object(value);
  return {
    id: text(json['id']),
    name: text(json['name']),
    role: text(json['role']),
    user: text(json['user']),
    principal: text(json['principal']),
    connected: flag(json['connected']),
    suppressed: flag(json['suppressed']),
    used: resources(json['used_resources']),
    offers: number(json['offers']) ?? 0,
    tasks: number(json['tasks']) ?? 0,
    completedTasks: number(json['completed_tasks']) ?? 0,
  };
}

/** What a task's last status said about how it went: the same facts on a task and on a job. */
export interface TaskOutcome {
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly exitCode: number | undefined;
  readonly fuelConsumed: number | undefined;
  readonly peakMemoryBytes: number | undefined;
  readonly durationMs: number | undefined;
}

/** The operator API spells its fields in snake_case (`exit_code`), the jobs API in camelCase. */
type Spelling = 'snake_case' | 'camelCase';

function outcomeOf(json: JsonObject, spelling: Spelling): TaskOutcome {
  const field = (camelName: string): unknown =>
    json[spelling === 'camelCase' ? camelName : camelName.replace(/[A-Z]/g, '_$&').toLowerCase()];
  return {
    reason: optionalText(field('reason')),
    message: optionalText(field('message')),
    exitCode: number(field('exitCode')),
    fuelConsumed: number(field('fuelConsumed')),
    peakMemoryBytes: number(field('peakMemoryBytes')),
    durationMs: number(field('durationMs')),
  };
}

export interface Task extends TaskOutcome {
  readonly id: string;
  readonly name: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly state: string;
  readonly runtime: string;
  readonly resources: Resources;
  readonly updatedMs: number | undefined;
}

export function taskOf(value: unknown): Task {
  const json = object(value);
  return {
    id: text(json['id']),
    name: text(json['name']),
    frameworkId: text(json['framework_id']),
    agentId: text(json['agent_id']),
    state: text(json['state'], 'unknown'),
    runtime: text(json['runtime']),
    resources: resources(json['resources']),
    ...outcomeOf(json, 'snake_case'),
    updatedMs: number(json['updated_ms']),
  };
}

export interface Job extends TaskOutcome {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly taskState: string | undefined;
  readonly runtime: string;
  readonly agentId: string | undefined;
  readonly hostname: string | undefined;
  readonly submittedAtMs: number | undefined;
  /** Why a queued job is not running yet. */
  readonly waiting: string | undefined;
}

export function jobOf(value: unknown): Job {
  const json = object(value);
  return {
    id: text(json['id']),
    name: text(json['name']),
    state: text(json['state'], 'unknown'),
    taskState: optionalText(json['taskState']),
    runtime: text(object(json['summary'])['runtime']),
    agentId: optionalText(json['agentId']),
    hostname: optionalText(json['hostname']),
    submittedAtMs: number(json['submittedAtMs']),
    ...outcomeOf(json, 'camelCase'),
    waiting: optionalText(object(json['waiting'])['message']),
  };
}

export interface ClusterState {
  /** False on a standby master (HA): it serves no state, only where the leader is. */
  readonly leading: boolean;
  /** The leader's address, as a standby reports it. */
  readonly leaderAddress: string | undefined;
  readonly masterId: string;
  readonly leaderId: string;
  readonly healthy: boolean;
  readonly agents: readonly Agent[];
  readonly frameworks: readonly Framework[];
  readonly tasks: readonly Task[];
  readonly total: Resources;
  readonly used: Resources;
  readonly offered: Resources;
  readonly free: Resources;
  readonly outstandingOffers: number;
}

export function clusterStateOf(value: unknown): ClusterState {
  const json = object(value);
  const totals = object(json['resources']);
  const leader = object(json['leader']);
  return {
    leading: json['leading'] !== false,
    leaderAddress: optionalText(leader['address']),
    masterId: text(json['master_id'], text(json['id'])),
    leaderId: text(leader['master_id'], text(leader['id'])),
    healthy: flag(json['healthy']),
    agents: list(json['agents']).map(agentOf),
    frameworks: list(json['frameworks']).map(frameworkOf),
    tasks: list(json['tasks']).map(taskOf),
    total: resources(totals['total']),
    used: resources(totals['used']),
    offered: resources(totals['offered']),
    free: resources(totals['free']),
    outstandingOffers: number(json['outstanding_offers']) ?? 0,
  };
}

export interface LogChunk {
  readonly offset: number;
  readonly data: Uint8Array;
  readonly size: number;
  readonly complete: boolean;
  readonly error: string | undefined;
}

export function logChunkOf(value: unknown): LogChunk {
  const json = object(value);
  const binary = atob(text(json['data']));
  const data = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) data[index] = binary.charCodeAt(index);
  return {
    offset: number(json['offset']) ?? 0,
    data,
    size: number(json['size']) ?? 0,
    complete: flag(json['complete']),
    error: optionalText(json['error']),
  };
}

export const getState = async (signal: AbortSignal) =>
  clusterStateOf(await getJson('state', signal));

/** A listing endpoint: the entries under `key` of the answer to `path`, each decoded. */
async function getListing<Entry>(
  path: string,
  key: string,
  entryOf: (value: unknown) => Entry,
  signal: AbortSignal,
): Promise<Entry[]> {
  return list(object(await getJson(path, signal))[key]).map(entryOf);
}

export const getAgents = (signal: AbortSignal) => getListing('agents', 'agents', agentOf, signal);

export const getFrameworks = (signal: AbortSignal) =>
  getListing('frameworks', 'frameworks', frameworkOf, signal);

export const getTasks = (signal: AbortSignal) =>
  getListing(`tasks?limit=${UI_TASKS_LISTED_MAX}`, 'tasks', taskOf, signal);

export const getJobs = (signal: AbortSignal) =>
  getListing(`jobs?limit=${UI_JOBS_LISTED_MAX}`, 'jobs', jobOf, signal);

/** A job by id, or undefined when the master has none by that id. */
export async function findJob(id: string, signal: AbortSignal): Promise<Job | undefined> {
  try {
    return jobOf(await getJson(`jobs/${encodeURIComponent(id)}`, signal));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

export async function getLogs(
  taskId: string,
  stream: 'stdout' | 'stderr',
  offset: number,
  signal: AbortSignal,
): Promise<LogChunk> {
  const query = `stream=${stream}&offset=${offset}`;
  return logChunkOf(await getJson(`tasks/${encodeURIComponent(taskId)}/logs?${query}`, signal));
}
