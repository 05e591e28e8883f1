import { Hono, type Context } from 'hono';
import type { Resources } from '../core/resources.js';
import type { AgentState, CoreState, FrameworkState } from '../core/state.js';
import type { TaskRecord } from '../core/tasks.js';
import { err, ok, type Result } from '../../lib/result.js';
import { findTaskForLogs, requestTaskLogs } from './agent-hub.js';
import type { LogsErrorCode } from './agent-logs.js';
import type { MasterContext } from './context.js';
import { jobsFrameworkOf } from './jobs/index.js';

/**
 * The operator API: read-only JSON for people and tools (docs/CLI.md lists the fields). Field
 * names follow Mesos's `/state` (snake_case). Every list is bounded; `?limit=` asks for fewer.
 */

export interface OperatorLimits {
  /** Bytes of one task logs answer (the agent channel bounds it too). */
  readonly logBytesMax: number;
  /** Tasks in one /api/v1/tasks answer (live first, then completed, newest first). */
  readonly tasksListedMax: number;
  /** Tasks inside /api/v1/state. */
  readonly stateTasksMax: number;
}

export const DEFAULT_OPERATOR_LIMITS: OperatorLimits = {
  logBytesMax: 64 * 1024,
  tasksListedMax: 10_000,
  stateTasksMax: 1000,
};

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Scalars by name (cpus, mem, disk, fuel) and ranges as [begin, end] pairs (ports). */
export function resourcesJson(resources: Resources): { [key: string]: Json } {
  const plain = resources.toPlain();
  const ranges: { [key: string]: Json } = {};
  for (const [name, list] of Object.entries(plain.ranges))
    ranges[name] = list.map(([begin, end]) => [begin, end]);
  return { ...plain.scalars, ...ranges };
}

export function agentJson(agent: AgentState): { [key: string]: Json } {
  const free = agent.total.subtract(agent.offered).subtract(agent.used);
  return {
    id: agent.id,
    hostname: agent.hostname,
    status: agent.status,
    active: agent.status === 'active',
    resources: resourcesJson(agent.total),
    used_resources: resourcesJson(agent.used),
    offered_resources: resourcesJson(agent.offered),
    free_resources: resourcesJson(free),
    runtimes: [...agent.runtimes],
    unavailable_runtimes: (agent.unavailableRuntimes ?? []).map((entry) => ({
      runtime: entry.runtime,
      cause: entry.cause,
      reason: entry.reason,
    })),
    attributes: { ...agent.attributes },
    tasks: agent.tasks.size,
    last_seen_ms: agent.lastSeenMs,
    status_changed_ms: agent.statusChangedAtMs,
  };
}

export function frameworkJson(framework: FrameworkState): { [key: string]: Json } {
  return {
    id: framework.id,
    name: framework.name,
    role: framework.role,
    user: framework.user,
    principal: framework.principal,
    connected: framework.streamId !== undefined,
    suppressed: framework.suppressed,
    failover_timeout_ms: framework.failoverTimeoutMs,
    failover_deadline_ms: framework.failoverDeadlineMs ?? null,
    partition_aware: framework.partitionAware,
    registered_ms: framework.registeredAtMs,
    used_resources: resourcesJson(framework.used),
    offered_resources: resourcesJson(framework.offered),
    offers: framework.offerIds.size,
    tasks: framework.tasks.size,
    completed_tasks: framework.completed.length,
  };
}

export function taskJson(task: TaskRecord): { [key: string]: Json } {
  const status = task.status;
  const optional = (name: string, value: number | string | undefined): { [key: string]: Json } =>
    value === undefined ? {} : { [name]: value };
  return {
    id: task.id,
    name: task.name,
    framework_id: task.frameworkId,
    agent_id: task.agentId,
    state: task.state,
    runtime: task.runtime,
    resources: resourcesJson(task.resources),
    ...optional('reason', status.reason),
    ...optional('message', status.message),
    ...optional('exit_code', status.exitCode),
    ...optional('fuel_consumed', status.fuelConsumed),
    ...optional('peak_memory_bytes', status.peakMemoryBytes),
    ...optional('duration_ms', status.durationMs),
    updated_ms: status.timestampMs,
  };
}

/** Live tasks first (every framework), then completed ones newest first; at most `count`. */
export function listTasks(
  core: Readonly<CoreState>,
  count: number,
  frameworkId?: string,
): TaskRecord[] {
  const tasks: TaskRecord[] = [];
  const frameworks = [...core.frameworks.values()].filter(
    (framework) => frameworkId === undefined || framework.id === frameworkId,
  );
  for (const framework of frameworks) {
    for (const task of framework.tasks.values()) {
      if (tasks.length >= count) return tasks;
      tasks.push(task);
    }
  }
  const completed = frameworks
    .flatMap((framework) => framework.completed)
    .sort((left, right) => right.status.timestampMs - left.status.timestampMs);
  for (const task of completed) {
    if (tasks.length >= count) break;
    tasks.push(task);
  }
  return tasks;
}

/** Cluster totals over active agents: what is there, used, offered, free. */
export function clusterResources(core: Readonly<CoreState>): { [key: string]: Json } {
  let total: Resources | undefined;
  let used: Resources | undefined;
  let offered: Resources | undefined;
  for (const agent of core.agents.values()) {
    if (agent.status !== 'active') continue;
    total = total ? total.add(agent.total.scalars()) : agent.total.scalars();
    used = used ? used.add(agent.used.scalars()) : agent.used.scalars();
    offered = offered ? offered.add(agent.offered.scalars()) : agent.offered.scalars();
  }
  if (!total || !used || !offered) return { total: {}, used: {}, offered: {}, free: {} };
  return {
    total: resourcesJson(total),
    used: resourcesJson(used),
    offered: resourcesJson(offered),
    free: resourcesJson(total.subtract(used).subtract(offered)),
  };
}

function limitOf(c: Context, max: number): number | Response {
  const text = c.req.query('limit');
  if (text === undefined) return max;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1)
    return c.json(
      { error: { code: 'BAD_QUERY', message: 'limit must be a positive integer' } },
      400,
    );
  return Math.min(limit, max);
}

export function operatorRoutes(
  ctx: MasterContext,
  limits: OperatorLimits = DEFAULT_OPERATOR_LIMITS,
): Hono {
  const routes = new Hono();
  const core = () => ctx.driver.view();

  routes.get('/state', (c) => {
    const view = core();
    return c.json({
      master_id: ctx.masterId,
      leader: { master_id: ctx.masterId, self: true },
      healthy: ctx.driver.isRunning,
      agents: [...view.agents.values()].map(agentJson),
      frameworks: [...view.frameworks.values()].map(frameworkJson),
      tasks: listTasks(view, limits.stateTasksMax).map(taskJson),
      resources: clusterResources(view),
      outstanding_offers: view.offers.size,
      allocation_runs: view.allocation.runs,
    });
  });

  routes.get('/agents', (c) => c.json({ agents: [...core().agents.values()].map(agentJson) }));

  routes.get('/frameworks', (c) =>
    c.json({ frameworks: [...core().frameworks.values()].map(frameworkJson) }),
  );

  routes.get('/tasks', (c) => {
    const limit = limitOf(c, limits.tasksListedMax);
    if (limit instanceof Response) return limit;
    const frameworkId = c.req.query('framework_id');
    return c.json({ tasks: listTasks(core(), limit, frameworkId).map(taskJson) });
  });

  routes.get('/tasks/:id/logs', async (c) => taskLogs(ctx, c, limits));

  return routes;
}

/** 502, not 503: clients read 503 as "this master cannot serve" and go looking for another. */
const LOGS_STATUS: Readonly<Record<LogsErrorCode, 400 | 429 | 502 | 504>> = {
  AGENT_NOT_CONNECTED: 502,
  AGENT_DISCONNECTED: 502,
  TIMEOUT: 504,
  TOO_MANY_REQUESTS: 429,
  INVALID: 400,
};

/**
 * GET /api/v1/tasks/:id/logs?stream=stdout|stderr&offset=N&length=N[&framework_id=F]: a chunk of
 * the task's output from its agent, `data` in base64. Without `offset`, the last `length` bytes.
 */
async function taskLogs(ctx: MasterContext, c: Context, limits: OperatorLimits) {
  const bad = (message: string) => c.json({ error: { code: 'BAD_QUERY', message } }, 400);
  const stream = c.req.query('stream') ?? 'stdout';
  if (stream !== 'stdout' && stream !== 'stderr') return bad('stream is stdout or stderr');
  const offsetText = c.req.query('offset');
  const offset = offsetText === undefined ? undefined : Number(offsetText);
  if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0))
    return bad('offset must be a non-negative integer');
  const length = Number(c.req.query('length') ?? limits.logBytesMax);
  if (!(Number.isSafeInteger(length) && length >= 0 && length <= limits.logBytesMax))
    return bad(`length must be 0 to ${limits.logBytesMax} (logBytesMax)`);
  const taskId = c.req.param('id') ?? '';
  const where = await locateTask(ctx, taskId, c.req.query('framework_id'));
  if (!where.ok) return c.json({ error: { code: 'NOT_FOUND', message: where.error } }, 404);
  const chunk = await requestTaskLogs(ctx, {
    ...where.value,
    taskId,
    stream,
    length,
    ...(offset === undefined ? {} : { offset }),
  });
  if (!chunk.ok) return c.json({ error: chunk.error }, LOGS_STATUS[chunk.error.code]);
  return c.json({
    task_id: taskId,
    framework_id: where.value.frameworkId,
    agent_id: where.value.agentId,
    stream,
    offset: chunk.value.offset,
    size: chunk.value.size,
    complete: chunk.value.complete,
    data: Buffer.from(chunk.value.data).toString('base64'),
    ...(chunk.value.error === undefined ? {} : { error: chunk.value.error }),
  });
}

/** The core's view first; a job's record when the core has forgotten its task. */
async function locateTask(
  ctx: MasterContext,
  taskId: string,
  frameworkId: string | undefined,
): Promise<Result<{ agentId: string; frameworkId: string }, string>> {
  const found = findTaskForLogs(ctx, taskId, frameworkId);
  if (found.ok) return found;
  const jobs = await jobsFrameworkOf(ctx);
  const job = jobs.get(taskId);
  if (job?.agentId && jobs.id && (frameworkId === undefined || frameworkId === jobs.id))
    return ok({ agentId: job.agentId, frameworkId: jobs.id });
  if (job?.state === 'queued') return err(`job ${taskId} is queued: it has no output yet`);
  return found;
}
