import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';
import { coreError, limitError, type CoreError } from './errors.js';
import type { AgentSpec, AgentStatusUpdate, ReportedTask, UnavailableRuntime } from './messages.js';
import { rescindAgentOffers } from './offers.js';
import { Resources } from './resources.js';
import { toView } from './status-updates.js';
import {
  completeTask,
  freshAgentBookkeeping,
  holdTask,
  holdZombie,
  nextId,
  releaseZombie,
  type AgentState,
  type CoreState,
  type FrameworkState,
} from './state.js';
import {
  applyStatus,
  canTransition,
  isTerminal,
  masterStatus,
  taskKey,
  type TaskReason,
  type TaskRecord,
  type TaskState,
} from './tasks.js';

/** Agent lifecycle: admission, re-registration (rebuilding tasks), heartbeats, unreachable, gone. */

export function validateAgentSpec(core: CoreState, spec: AgentSpec): CoreError | undefined {
  const { limits } = core.config;
  if (spec.hostname.length === 0 || spec.hostname.length > limits.idCharsMax) {
    return coreError('invalid', 'agent hostname must be 1 to idCharsMax characters');
  }
  if (spec.runtimes.length === 0)
    return coreError('invalid', 'an agent must offer at least one runtime');
  const unavailable = unavailableRuntimesError(spec);
  if (unavailable) return unavailable;
  if (spec.resources.scalars().isEmpty())
    return coreError('invalid', 'an agent must offer some cpus or mem');
  if (Object.keys(spec.attributes).length > limits.attributesPerAgentMax) {
    return limitError('attributesPerAgentMax', limits.attributesPerAgentMax, 'too many attributes');
  }
  return undefined;
}

/** Each runtime listed once, and never both offered and unavailable. */
function unavailableRuntimesError(spec: AgentSpec): CoreError | undefined {
  const listed = new Set<string>();
  for (const { runtime } of spec.unavailableRuntimes ?? []) {
    if (listed.has(runtime))
      return coreError('invalid', `runtime ${runtime} is listed as unavailable twice`);
    if (spec.runtimes.includes(runtime))
      return coreError('invalid', `runtime ${runtime} is both offered and listed as unavailable`);
    listed.add(runtime);
  }
  return undefined;
}

function admittedCount(core: CoreState): number {
  let count = 0;
  for (const agent of core.agents.values()) {
    if (agent.status !== 'unreachable' && agent.status !== 'gone') count++;
  }
  return count;
}

function unavailableOf(spec: AgentSpec): { unavailableRuntimes: UnavailableRuntime[] } {
  return {
    unavailableRuntimes: (spec.unavailableRuntimes ?? []).map((entry) => ({ ...entry })),
  };
}

function newAgent(id: string, keyId: string, spec: AgentSpec, nowMs: number): AgentState {
  return {
    id,
    hostname: spec.hostname,
    keyId,
    total: spec.resources,
    runtimes: [...spec.runtimes],
    ...unavailableOf(spec),
    attributes: { ...spec.attributes },
    status: 'active',
    ...freshAgentBookkeeping(),
    lastSeenMs: nowMs,
    reregisterDeadlineMs: undefined,
    statusChangedAtMs: nowMs,
  };
}

/** REGISTER: admission. The agent is told its id only after the registry holds it. */
export function registerAgent(
  core: CoreState,
  keyId: string,
  spec: AgentSpec,
  nowMs: number,
): Result<string, CoreError> {
  const invalid = validateAgentSpec(core, spec);
  if (invalid) return err(invalid);
  const { agentsMax } = core.config.limits;
  if (admittedCount(core) >= agentsMax)
    return err(limitError('agentsMax', agentsMax, 'too many agents'));
  const agent = newAgent(nextId(core, 'agent'), keyId, spec, nowMs);
  core.agents.set(agent.id, agent);
  core.out.persistNeeded = true;
  core.allocation.due = true;
  core.out.toAgent(agent.id, {
    type: 'registered',
    agentId: agent.id,
    heartbeatIntervalMs: core.config.timings.agentHeartbeatIntervalMs,
  });
  return ok(agent.id);
}

/** The calling key must be the admitted agent's; the agent must be registered. */
export function checkAgent(
  core: CoreState,
  agentId: string,
  keyId: string,
): Result<AgentState, CoreError> {
  const agent = core.agents.get(agentId);
  if (!agent)
    return err(coreError('agent_unknown', `agent ${agentId} is not admitted; register again`));
  if (agent.keyId !== keyId)
    return err(coreError('key_mismatch', `agent ${agentId} was admitted with another key`));
  if (agent.status === 'gone')
    return err(coreError('agent_gone', `agent ${agentId} was marked gone`));
  if (agent.status !== 'active' && agent.status !== 'disconnected') {
    return err(coreError('agent_not_registered', `agent ${agentId} must re-register first`));
  }
  return ok(agent);
}

/**
 * REREGISTER: the agent comes back (after a disconnection, a master restart or being
 * unreachable) with the tasks it runs; the master's task state is rebuilt from that report.
 */
export function reregisterAgent(
  core: CoreState,
  agentId: string,
  keyId: string,
  spec: AgentSpec,
  reported: readonly ReportedTask[],
  nowMs: number,
  unacknowledged: readonly AgentStatusUpdate[] = [],
): Result<void, CoreError> {
  const refused =
    checkReregistration(core, agentId, keyId, spec, reported) ??
    checkUnacknowledged(core, unacknowledged);
  if (refused) return err(refused);
  let agent = core.agents.get(agentId);
  const admittedNow = agent === undefined;
  if (!agent) {
    // Unknown to this registry (e.g. its registry was lost): admit it with the id it has.
    agent = newAgent(agentId, keyId, spec, nowMs);
    agent.status = 'recovering';
    core.agents.set(agentId, agent);
  }
  rescindAgentOffers(core, agent);
  const wasOut = agent.status === 'unreachable' || agent.status === 'recovering';
  if (admittedNow || agent.status === 'unreachable' || agent.hostname !== spec.hostname) {
    core.out.persistNeeded = true;
  }
  agent.hostname = spec.hostname;
  agent.runtimes = [...spec.runtimes];
  agent.unavailableRuntimes = unavailableOf(spec).unavailableRuntimes;
  agent.attributes = { ...spec.attributes };
  setStatus(agent, 'active', nowMs);
  agent.lastSeenMs = nowMs;
  agent.reregisterDeadlineMs = undefined;
  // First on the agent's new stream: an agent reads anything before it as a broken handshake.
  core.out.toAgent(agent.id, {
    type: 'reregistered',
    agentId: agent.id,
    heartbeatIntervalMs: core.config.timings.agentHeartbeatIntervalMs,
  });
  reconcileAgentTasks(core, agent, spec.resources, reported, unacknowledged, wasOut, nowMs);
  core.allocation.due = true;
  return ok(undefined);
}

function checkReregistration(
  core: CoreState,
  agentId: string,
  keyId: string,
  spec: AgentSpec,
  reported: readonly ReportedTask[],
): CoreError | undefined {
  const invalid = validateAgentSpec(core, spec);
  if (invalid) return invalid;
  const { limits } = core.config;
  if (reported.length > limits.tasksPerAgentReportMax) {
    return limitError(
      'tasksPerAgentReportMax',
      limits.tasksPerAgentReportMax,
      'too many tasks reported',
    );
  }
  const agent = core.agents.get(agentId);
  if (agent && agent.keyId !== keyId)
    return coreError('key_mismatch', `agent ${agentId} was admitted with another key`);
  if (agent && agent.status === 'gone')
    return coreError('agent_gone', `agent ${agentId} was marked gone`);
  if (!agent && admittedCount(core) >= limits.agentsMax)
    return limitError('agentsMax', limits.agentsMax, 'too many agents');
  if (agentId.length === 0 || agentId.length > limits.idCharsMax)
    return coreError('invalid', 'agent id length');
  let live = Resources.empty;
  const keys = new Set<string>();
  for (const task of reported) {
    const key = taskKey(task.frameworkId, task.taskId);
    if (keys.has(key)) return coreError('invalid', `task ${task.taskId} reported twice`);
    keys.add(key);
    if (isTerminal(task.state) || task.state === 'TASK_UNKNOWN') continue;
    // A task the master already holds here counts with the resources the master knows.
    const resources = agent?.tasks.get(key)?.resources ?? task.resources;
    if (!live.isDisjointFrom(resources))
      return coreError('invalid', `task ${task.taskId} overlaps another task's ranges`);
    live = live.add(resources);
  }
  if (!spec.resources.contains(live)) {
    return coreError('invalid', `reported tasks use ${live.toString()}, more than the agent has`);
  }
  return undefined;
}

/** Unacknowledged updates are bounded like the task report and must be reportable states. */
function checkUnacknowledged(
  core: CoreState,
  updates: readonly AgentStatusUpdate[],
): CoreError | undefined {
  const { limits } = core.config;
  if (updates.length > limits.tasksPerAgentReportMax) {
    return limitError(
      'tasksPerAgentReportMax',
      limits.tasksPerAgentReportMax,
      'too many unacknowledged updates reported',
    );
  }
  for (const update of updates) {
    if (update.uuid.length === 0 || update.uuid.length > limits.idCharsMax)
      return coreError('invalid', 'status update uuid must be 1 to idCharsMax characters');
    if (update.state === 'TASK_UNKNOWN' || update.state === 'TASK_STAGING')
      return coreError('invalid', `${update.state} is not a state an agent reports`);
  }
  return undefined;
}

function reconcileAgentTasks(
  core: CoreState,
  agent: AgentState,
  total: Resources,
  reported: readonly ReportedTask[],
  unacknowledged: readonly AgentStatusUpdate[],
  wasOut: boolean,
  nowMs: number,
): void {
  // A task whose update the agent still retries is on the agent as far as the master is
  // concerned: it ended there (or changed state) and the update says how. Ending it here as
  // TASK_GONE would hide the real terminal state (the late update would find it completed).
  const reportedKeys = new Set([
    ...reported.map((task) => taskKey(task.frameworkId, task.taskId)),
    ...unacknowledged.map((update) => taskKey(update.frameworkId, update.taskId)),
  ]);
  for (const key of [...agent.zombies.keys()]) releaseZombie(core, agent, key);
  // Tasks the master thinks are here but the agent does not have: their launch never arrived
  // or they ended without a trace. Mesos reports them (REASON_RECONCILIATION).
  for (const [key, task] of [...agent.tasks]) {
    if (reportedKeys.has(key)) continue;
    const framework = core.frameworks.get(task.frameworkId)!;
    const state: TaskState = !framework.partitionAware
      ? 'TASK_LOST'
      : task.state === 'TASK_STAGING'
        ? 'TASK_DROPPED'
        : 'TASK_GONE';
    endTask(
      core,
      framework,
      task,
      state,
      'REASON_RECONCILIATION',
      `task not found on agent ${agent.id}`,
      nowMs,
    );
  }
  agent.total = total;
  for (const report of reported) adoptReportedTask(core, agent, report, wasOut, nowMs);
  adoptEndedTasks(core, agent, unacknowledged);
}

/**
 * After a master restart the master knows no tasks. A task that ended on the agent before it
 * re-registered is only in the agent's unacknowledged updates; without it the master would
 * acknowledge the retried terminal update itself and the framework would never see it. It is
 * taken in as terminal and pending (nothing held: its resources are free on the agent), so the
 * update is forwarded and the framework's acknowledgement reaches the agent.
 */
function adoptEndedTasks(
  core: CoreState,
  agent: AgentState,
  unacknowledged: readonly AgentStatusUpdate[],
): void {
  const newest = new Map<string, AgentStatusUpdate>();
  for (const update of unacknowledged)
    newest.set(taskKey(update.frameworkId, update.taskId), update);
  for (const update of newest.values()) {
    if (!isTerminal(update.state)) continue; // a live task is in the task report
    const framework = core.frameworks.get(update.frameworkId);
    if (!framework || framework.tasks.has(update.taskId)) continue;
    if (framework.completed.some((task) => task.id === update.taskId)) continue;
    if (framework.tasks.size >= core.config.limits.tasksPerFrameworkMax) continue;
    const status = toView(core, agent, update);
    const task: TaskRecord = {
      id: update.taskId,
      frameworkId: framework.id,
      agentId: agent.id,
      name: update.taskId,
      resources: Resources.empty,
      runtime: agent.runtimes[0] ?? 'wasm',
      state: update.state,
      status,
      pendingUuid: update.uuid,
      recentUuids: [update.uuid],
      killRequested: false,
    };
    framework.tasks.set(task.id, task);
    core.out.toFramework(framework, { type: 'update', status });
  }
}

function adoptReportedTask(
  core: CoreState,
  agent: AgentState,
  report: ReportedTask,
  wasOut: boolean,
  nowMs: number,
): void {
  const framework = core.frameworks.get(report.frameworkId);
  if (!framework) {
    // Removed (or never known: the registry has every framework): its tasks must stop.
    if (!isTerminal(report.state) && report.state !== 'TASK_UNKNOWN') {
      holdZombie(agent, taskKey(report.frameworkId, report.taskId), report.resources);
    }
    core.out.toAgent(agent.id, { type: 'shutdownFramework', frameworkId: report.frameworkId });
    return;
  }
  if (isTerminal(report.state) || report.state === 'TASK_UNKNOWN') return;
  const known = framework.tasks.get(report.taskId);
  if (!known) {
    const done = framework.completed.some((task) => task.id === report.taskId);
    if (done) {
      // Already terminal here (e.g. LOST while unreachable): terminal states are final.
      core.out.toAgent(agent.id, {
        type: 'kill',
        frameworkId: framework.id,
        taskId: report.taskId,
      });
      return;
    }
    adoptNewTask(core, agent, framework, report, nowMs);
    return;
  }
  if (known.agentId !== agent.id || isTerminal(known.state)) {
    killZombie(core, agent, framework.id, report);
    return;
  }
  if (
    known.state !== report.state &&
    canTransition(known.state, report.state) &&
    report.state !== 'TASK_STAGING'
  ) {
    const wasUnreachable = known.state === 'TASK_UNREACHABLE';
    applyStatus(known, {
      ...known.status,
      state: report.state,
      source: 'SOURCE_MASTER',
      reason: 'REASON_AGENT_REREGISTERED',
      timestampMs: nowMs,
      uuid: undefined,
    });
    if (wasUnreachable || wasOut)
      core.out.toFramework(framework, { type: 'update', status: known.status });
  }
  if (known.killRequested)
    core.out.toAgent(agent.id, { type: 'kill', frameworkId: framework.id, taskId: known.id });
}

/** Kill a task the agent runs but the master holds terminal; keep its resources until it ends. */
function killZombie(
  core: CoreState,
  agent: AgentState,
  frameworkId: string,
  report: ReportedTask,
): void {
  holdZombie(agent, taskKey(frameworkId, report.taskId), report.resources);
  core.out.toAgent(agent.id, { type: 'kill', frameworkId, taskId: report.taskId });
}

function adoptNewTask(
  core: CoreState,
  agent: AgentState,
  framework: FrameworkState,
  report: ReportedTask,
  nowMs: number,
): void {
  const state = report.state;
  const task: TaskRecord = {
    id: report.taskId,
    frameworkId: framework.id,
    agentId: agent.id,
    name: report.name,
    resources: report.resources,
    runtime: report.runtime,
    state,
    status: {
      taskId: report.taskId,
      agentId: agent.id,
      state,
      source: 'SOURCE_MASTER',
      reason: 'REASON_AGENT_REREGISTERED',
      timestampMs: nowMs,
    },
    pendingUuid: undefined,
    recentUuids: [],
    killRequested: false,
  };
  holdTask(core, task);
}

/** A master-generated terminal update: the task ends now, its resources come back. */
export function endTask(
  core: CoreState,
  framework: FrameworkState,
  task: TaskRecord,
  state: TaskState,
  reason: TaskReason,
  message: string,
  nowMs: number,
): void {
  assert(isTerminal(state), `endTask moves ${task.id} to a terminal state`);
  applyStatus(task, masterStatus(task, state, reason, message, nowMs));
  task.pendingUuid = undefined;
  core.out.toFramework(framework, { type: 'update', status: task.status });
  completeTask(core, task);
}

function setStatus(agent: AgentState, status: AgentState['status'], nowMs: number): void {
  if (agent.status !== status) agent.statusChangedAtMs = nowMs;
  agent.status = status;
}

export function heartbeat(agent: AgentState, nowMs: number): void {
  agent.lastSeenMs = nowMs;
}

/** The agent's stream closed: no offers on it until it re-registers; tasks keep running. */
export function agentDisconnected(core: CoreState, agent: AgentState, nowMs: number): void {
  if (agent.status !== 'active') return;
  rescindAgentOffers(core, agent);
  setStatus(agent, 'disconnected', nowMs);
}

/**
 * Missed heartbeats or its re-registration deadline: the agent is unreachable (recorded in the
 * registry). Its tasks become TASK_UNREACHABLE for partition-aware frameworks, else TASK_LOST.
 */
export function markUnreachable(core: CoreState, agent: AgentState, nowMs: number): void {
  assert(
    agent.status !== 'gone' && agent.status !== 'unreachable',
    `agent ${agent.id} is admitted`,
  );
  removeAgent(core, agent, 'unreachable', nowMs, {
    partitionAwareState: 'TASK_UNREACHABLE',
    reason: 'REASON_AGENT_REMOVED',
    message: `agent ${agent.id} is unreachable`,
  });
}

/** An operator says the agent will never return (or it unregistered cleanly). */
export function markGone(core: CoreState, agent: AgentState, nowMs: number, message: string): void {
  removeAgent(core, agent, 'gone', nowMs, {
    partitionAwareState: 'TASK_GONE_BY_OPERATOR',
    reason: 'REASON_AGENT_REMOVED_BY_OPERATOR',
    message,
  });
}

/** What an agent's tasks become when it is removed (TASK_LOST for frameworks not partition-aware). */
interface RemovedAgentTasks {
  readonly partitionAwareState: TaskState;
  readonly reason: TaskReason;
  readonly message: string;
}

/**
 * Unreachable or gone, the agent leaves the same way: its offers are rescinded, its status is
 * recorded in the registry, its live tasks are reported ended (or unreachable) to their
 * frameworks, and every framework hears of the agent's failure.
 */
function removeAgent(
  core: CoreState,
  agent: AgentState,
  status: 'unreachable' | 'gone',
  nowMs: number,
  tasks: RemovedAgentTasks,
): void {
  rescindAgentOffers(core, agent);
  setStatus(agent, status, nowMs);
  agent.reregisterDeadlineMs = undefined;
  core.out.persistNeeded = true;
  dropAgentTasks(core, agent, tasks, nowMs);
  notifyFailure(core, agent);
}

function dropAgentTasks(
  core: CoreState,
  agent: AgentState,
  { partitionAwareState, reason, message }: RemovedAgentTasks,
  nowMs: number,
): void {
  for (const task of [...agent.tasks.values()]) {
    const framework = core.frameworks.get(task.frameworkId)!;
    if (isTerminal(task.state)) continue;
    const state = framework.partitionAware ? partitionAwareState : 'TASK_LOST';
    if (isTerminal(state)) {
      endTask(core, framework, task, state, reason, message, nowMs);
    } else if (task.state !== state) {
      applyStatus(task, masterStatus(task, state, reason, message, nowMs));
      task.pendingUuid = undefined;
      core.out.toFramework(framework, { type: 'update', status: task.status });
    }
  }
}

function notifyFailure(core: CoreState, agent: AgentState): void {
  for (const framework of core.frameworks.values()) {
    core.out.toFramework(framework, { type: 'failure', agentId: agent.id });
  }
}

/** Heartbeat timeouts and, after a master restart, re-registration deadlines. */
export function checkAgentTimeouts(core: CoreState, nowMs: number): void {
  const { agentHeartbeatTimeoutMs } = core.config.timings;
  for (const agent of core.agents.values()) {
    const silent =
      (agent.status === 'active' || agent.status === 'disconnected') &&
      agent.lastSeenMs + agentHeartbeatTimeoutMs <= nowMs;
    const late =
      agent.status === 'recovering' &&
      agent.reregisterDeadlineMs !== undefined &&
      agent.reregisterDeadlineMs <= nowMs;
    if (silent || late) markUnreachable(core, agent, nowMs);
  }
}

/** Unreachable and gone agents are remembered, oldest forgotten first, within the bound. */

export function pruneRememberedAgents(core: CoreState): void {
  const remembered = [...core.agents.values()].filter(
    (agent) => agent.status === 'unreachable' || agent.status === 'gone',
  );
  const excess = remembered.length - core.config.limits.agentsRememberedMax;
  if (excess <= 0) return;
  remembered.sort((left, right) => left.statusChangedAtMs - right.statusChangedAtMs);
  for (const agent of remembered.slice(0, excess)) {
    if (agent.tasks.size > 0) continue;
    core.agents.delete(agent.id);
    core.out.persistNeeded = true;
  }
}
