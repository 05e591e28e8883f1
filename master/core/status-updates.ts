import { coreError, type CoreError } from './errors.js';
import type { AgentStatusUpdate } from './messages.js';
import {
  completeTask,
  releaseTask,
  releaseZombie,
  type AgentState,
  type CoreState,
  type FrameworkState,
} from './state.js';
import {
  applyStatus,
  canTransition,
  isTerminal,
  taskKey,
  type TaskRecord,
  type TaskStatusView,
} from './tasks.js';

/**
 * Status updates are at-least-once: the agent retries an update (same uuid) until the
 * framework's acknowledgement comes back through the master. The master forwards every copy
 * (frameworks must be idempotent), records the latest state, and frees a task's resources at
 * its terminal update. Updates the framework can never need (the task is already terminal
 * here, or the framework is gone) are acknowledged to the agent by the master itself, so the
 * agent stops retrying.
 */
export function statusUpdate(
  core: CoreState,
  agent: AgentState,
  update: AgentStatusUpdate,
): CoreError | undefined {
  if (update.uuid.length === 0 || update.uuid.length > core.config.limits.idCharsMax) {
    return coreError('invalid', 'status update uuid must be 1 to idCharsMax characters');
  }
  if (update.state === 'TASK_UNKNOWN' || update.state === 'TASK_STAGING') {
    return coreError('invalid', `${update.state} is not a state an agent reports`);
  }
  const framework = core.frameworks.get(update.frameworkId);
  const task = framework?.tasks.get(update.taskId);
  if (!framework || !task || task.agentId !== agent.id) {
    if (isTerminal(update.state))
      releaseZombie(core, agent, taskKey(update.frameworkId, update.taskId));
    acknowledgeForFramework(core, agent, update);
    return undefined;
  }
  const status = toView(core, agent, update);
  if (update.uuid === task.status.uuid) {
    core.out.toFramework(framework, { type: 'update', status }); // a retry: forward again
    return undefined;
  }
  if (task.recentUuids.includes(update.uuid) || !canTransition(task.state, update.state)) {
    if (isTerminal(update.state))
      releaseZombie(core, agent, taskKey(update.frameworkId, update.taskId));
    acknowledgeForFramework(core, agent, update); // stale or superseded: nothing new to tell
    return undefined;
  }
  record(core, framework, task, status);
  return undefined;
}

function record(
  core: CoreState,
  framework: FrameworkState,
  task: TaskRecord,
  status: TaskStatusView,
): void {
  applyStatus(task, status);
  task.pendingUuid = status.uuid;
  task.recentUuids.push(status.uuid!);
  if (task.recentUuids.length > core.config.limits.statusUuidsPerTaskMax) task.recentUuids.shift();
  if (isTerminal(task.state)) releaseTask(core, task);
  core.out.toFramework(framework, { type: 'update', status });
}

function acknowledgeForFramework(
  core: CoreState,
  agent: AgentState,
  update: AgentStatusUpdate,
): void {
  core.out.toAgent(agent.id, {
    type: 'acknowledgeUpdate',
    frameworkId: update.frameworkId,
    taskId: update.taskId,
    uuid: update.uuid,
  });
}

export function toView(
  core: CoreState,
  agent: AgentState,
  update: AgentStatusUpdate,
): TaskStatusView {
  const charsMax = core.config.limits.statusMessageCharsMax;
  return {
    taskId: update.taskId,
    agentId: agent.id,
    state: update.state,
    source: update.source,
    uuid: update.uuid,
    timestampMs: update.timestampMs,
    ...(update.reason !== undefined && { reason: update.reason }),
    ...(update.message !== undefined && { message: update.message.slice(0, charsMax) }),
    ...(update.exitCode !== undefined && { exitCode: update.exitCode }),
    ...(update.fuelConsumed !== undefined && { fuelConsumed: update.fuelConsumed }),
    ...(update.peakMemoryBytes !== undefined && { peakMemoryBytes: update.peakMemoryBytes }),
    ...(update.durationMs !== undefined && { durationMs: update.durationMs }),
    ...(update.healthy !== undefined && { healthy: update.healthy }),
  };
}

/**
 * ACKNOWLEDGE from the framework: forwarded to the agent when it names the task's pending
 * update (again if a retried update was acknowledged again: the first acknowledgement to the
 * agent may have been lost); unknown uuids are ignored. A terminal, acknowledged task moves to the completed list.
 */
export function acknowledge(
  core: CoreState,
  framework: FrameworkState,
  agentId: string,
  taskId: string,
  uuid: string,
): void {
  const task = framework.tasks.get(taskId);
  const completed = task ? undefined : framework.completed.find((done) => done.id === taskId);
  const target = task ?? completed;
  if (!target || target.agentId !== agentId) return;
  if (target.status.uuid !== uuid) return;
  core.out.toAgent(agentId, { type: 'acknowledgeUpdate', frameworkId: framework.id, taskId, uuid });
  if (!task) return;
  task.pendingUuid = undefined;
  if (isTerminal(task.state)) completeTask(core, task);
}
