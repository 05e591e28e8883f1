import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';
import { coreError, limitError, type CoreError } from './errors.js';
import type { FrameworkSpec } from './messages.js';
import {
  completeTask,
  freshFrameworkBookkeeping,
  holdZombie,
  isConnected,
  nextId,
  removeOffer,
  type CoreState,
  type FrameworkState,
} from './state.js';
import { applyStatus, isTerminal, masterStatus, taskKey } from './tasks.js';

/** Framework lifecycle: subscribe, failover, disconnect, removal (teardown or timeout). */

const ROLE_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/;

export function validateSpec(core: CoreState, spec: FrameworkSpec): CoreError | undefined {
  const { limits, timings } = core.config;
  if (!ROLE_PATTERN.test(spec.role) || spec.role.length > limits.idCharsMax) {
    return coreError('invalid', `role "${spec.role}" is not a valid role name`);
  }
  if (spec.name.length > limits.idCharsMax || spec.user.length > limits.idCharsMax) {
    return coreError('invalid', 'framework name or user too long');
  }
  if (!Number.isFinite(spec.failoverTimeoutMs) || spec.failoverTimeoutMs < 0) {
    return coreError('invalid', 'failover timeout must be a non-negative duration');
  }
  if (spec.failoverTimeoutMs > timings.failoverTimeoutMsMax) {
    return limitError(
      'failoverTimeoutMsMax',
      timings.failoverTimeoutMsMax,
      `failover timeout ${spec.failoverTimeoutMs} ms is too long`,
    );
  }
  return undefined;
}

/** SUBSCRIBE: a new framework gets an id; a known id fails over to the new stream. */
export function subscribe(
  core: CoreState,
  streamId: string,
  spec: FrameworkSpec,
  nowMs: number,
): Result<string, CoreError> {
  const invalid = validateSpec(core, spec);
  if (invalid) return err(invalid);
  if (spec.id === undefined) return subscribeNew(core, streamId, spec, nowMs);
  const framework = core.frameworks.get(spec.id);
  if (!framework) {
    if (core.removedFrameworks.has(spec.id)) {
      return err(coreError('framework_removed', `framework ${spec.id} was removed`));
    }
    return err(
      coreError(
        'framework_unknown',
        `framework ${spec.id} is not registered; subscribe without an id`,
      ),
    );
  }
  if (framework.principal !== spec.principal) {
    return err(
      coreError('principal_mismatch', `framework ${spec.id} belongs to another principal`),
    );
  }
  if (framework.role !== spec.role) {
    return err(
      coreError('invalid', `framework ${spec.id} cannot change its role on resubscription`),
    );
  }
  failover(core, framework, streamId, spec);
  return ok(framework.id);
}

function subscribeNew(
  core: CoreState,
  streamId: string,
  spec: FrameworkSpec,
  nowMs: number,
): Result<string, CoreError> {
  const { frameworksMax } = core.config.limits;
  if (core.frameworks.size >= frameworksMax) {
    return err(limitError('frameworksMax', frameworksMax, 'too many frameworks'));
  }
  const framework: FrameworkState = {
    id: nextId(core, 'framework'),
    name: spec.name,
    role: spec.role,
    user: spec.user,
    principal: spec.principal,
    failoverTimeoutMs: spec.failoverTimeoutMs,
    partitionAware: spec.partitionAware,
    streamId,
    failoverDeadlineMs: undefined,
    ...freshFrameworkBookkeeping(),
    registeredAtMs: nowMs,
  };
  core.frameworks.set(framework.id, framework);
  core.out.persistNeeded = true;
  core.allocation.due = true;
  sendSubscribed(core, framework);
  return ok(framework.id);
}

function failover(
  core: CoreState,
  framework: FrameworkState,
  streamId: string,
  spec: FrameworkSpec,
): void {
  const previous = framework.streamId;
  if (previous !== undefined && previous !== streamId) {
    core.out.toFramework(framework, { type: 'error', message: 'Framework failed over' });
    core.out.closeStreams.push({ frameworkId: framework.id, streamId: previous });
  }
  // Offers made to the old scheduler instance are void (Mesos rescinds them on failover).
  for (const offerId of [...framework.offerIds]) removeOffer(core, offerId);
  framework.streamId = streamId;
  framework.name = spec.name;
  framework.user = spec.user;
  framework.partitionAware = spec.partitionAware;
  const persistedChanged =
    framework.failoverDeadlineMs !== undefined ||
    framework.failoverTimeoutMs !== spec.failoverTimeoutMs;
  framework.failoverTimeoutMs = spec.failoverTimeoutMs;
  framework.failoverDeadlineMs = undefined;
  if (persistedChanged) core.out.persistNeeded = true;
  core.allocation.due = true;
  sendSubscribed(core, framework);
}

function sendSubscribed(core: CoreState, framework: FrameworkState): void {
  core.out.toFramework(framework, {
    type: 'subscribed',
    frameworkId: framework.id,
    heartbeatIntervalMs: core.config.timings.frameworkHeartbeatIntervalMs,
  });
}

/** Every call but SUBSCRIBE: the framework must exist and the call come on its current stream. */
export function checkStream(
  core: CoreState,
  frameworkId: string,
  streamId: string,
): Result<FrameworkState, CoreError> {
  const framework = core.frameworks.get(frameworkId);
  if (!framework) {
    const code = core.removedFrameworks.has(frameworkId)
      ? 'framework_removed'
      : 'framework_unknown';
    return err(coreError(code, `framework ${frameworkId} is not registered`));
  }
  if (framework.streamId !== streamId) {
    return err(coreError('wrong_stream', `call for ${frameworkId} is not on its current stream`));
  }
  return ok(framework);
}

/** The stream closed: offers go back, tasks keep running until the failover deadline. */
export function disconnect(core: CoreState, framework: FrameworkState, nowMs: number): void {
  assert(isConnected(framework), `framework ${framework.id} was connected`);
  framework.streamId = undefined;
  framework.failoverDeadlineMs = nowMs + framework.failoverTimeoutMs;
  for (const offerId of [...framework.offerIds]) removeOffer(core, offerId);
  core.out.persistNeeded = true;
}

/**
 * TEARDOWN, or the failover timeout expired: kill every task, drop every offer and filter,
 * forget the framework (remembered, bounded, so its id is refused and operators can see it).
 */
export function removeFramework(core: CoreState, framework: FrameworkState, nowMs: number): void {
  for (const offerId of [...framework.offerIds]) removeOffer(core, offerId);
  const agentsWithTasks = new Set<string>();
  for (const task of [...framework.tasks.values()]) {
    const live = !isTerminal(task.state);
    if (live) {
      agentsWithTasks.add(task.agentId);
      const status = masterStatus(
        task,
        'TASK_KILLED',
        'REASON_FRAMEWORK_REMOVED',
        'framework removed',
        nowMs,
      );
      applyStatus(task, status);
    }
    completeTask(core, task);
    const agent = core.agents.get(task.agentId);
    // Still running until the agent says otherwise: keep its resources off the market.
    if (live && agent) holdZombie(agent, taskKey(framework.id, task.id), task.resources);
  }
  for (const agentId of agentsWithTasks) {
    core.out.toAgent(agentId, { type: 'shutdownFramework', frameworkId: framework.id });
  }
  if (framework.streamId !== undefined) {
    core.out.closeStreams.push({ frameworkId: framework.id, streamId: framework.streamId });
  }
  core.frameworks.delete(framework.id);
  rememberRemoved(core, framework, nowMs);
  core.out.persistNeeded = true;
  core.allocation.due = true;
}

function rememberRemoved(core: CoreState, framework: FrameworkState, nowMs: number): void {
  core.removedFrameworks.set(framework.id, {
    id: framework.id,
    name: framework.name,
    removedAtMs: nowMs,
    tasks: framework.completed,
  });
  while (core.removedFrameworks.size > core.config.limits.completedFrameworksMax) {
    const oldest = core.removedFrameworks.keys().next().value;
    assert(oldest !== undefined, 'an over-full map has an oldest entry');
    core.removedFrameworks.delete(oldest);
  }
}

/** REVIVE: filters cleared and offers wanted again (roles: only the framework's own matters). */
export function revive(
  core: CoreState,
  framework: FrameworkState,
  roles: readonly string[] | undefined,
): void {
  if (roles && roles.length > 0 && !roles.includes(framework.role)) return;
  framework.filters.clear();
  framework.suppressed = false;
  core.allocation.due = true;
}

export function suppress(framework: FrameworkState, roles: readonly string[] | undefined): void {
  if (roles && roles.length > 0 && !roles.includes(framework.role)) return;
  framework.suppressed = true;
}

/** Frameworks past their failover deadline are removed. */
export function expireFailovers(core: CoreState, nowMs: number): void {
  for (const framework of [...core.frameworks.values()]) {
    if (framework.failoverDeadlineMs !== undefined && framework.failoverDeadlineMs <= nowMs) {
      removeFramework(core, framework, nowMs);
    }
  }
}
