import { z } from 'zod';
import { err, ok, type Result } from '../../lib/result.js';
import {
  TaskInfo,
  type AgentCall,
  type AgentEvent,
  type AgentInfo,
  type Attribute,
  type StatusUpdate,
  type Task,
} from '../../protocol/index.js';
import type {
  AgentInput,
  AgentMessage,
  AgentSpec,
  AgentStatusUpdate,
  ReportedTask,
} from '../core/messages.js';
import type { CoreState } from '../core/state.js';
import type { Runtime } from '../core/tasks.js';
import { resourcesFromWire, resourcesToWire } from '../http/wire-resources.js';

/**
 * The mapping between the agent channel's wire messages (protocol/messages/agent.ts, Mesos
 * style) and the core's camelCase inputs and outputs (master/core/messages.ts). Pure: the routes
 * validate the envelope first, then call these, then step the core.
 */

/**
 * What a framework route (scheduler ACCEPT, the jobs framework) puts in `TaskLaunch.payload`:
 * the parts of the wire TaskInfo the agent needs beyond the id, name, agent and resources, which
 * the master fills in from its own records. A full TaskInfo is accepted as well.
 */
export const LaunchPayload = z
  .object({
    command: TaskInfo.shape.command,
    wasm: TaskInfo.shape.wasm,
    data: TaskInfo.shape.data,
    labels: TaskInfo.shape.labels,
  })
  .strip();
export type LaunchPayload = z.infer<typeof LaunchPayload>;

/** The payload for a wire TaskInfo (what `LaunchPayload` parses back); absent parts left out. */
export function launchPayloadOf(info: LaunchPayload): LaunchPayload {
  return {
    ...(info.command ? { command: info.command } : {}),
    ...(info.wasm ? { wasm: info.wasm } : {}),
    ...(info.data ? { data: info.data } : {}),
    ...(info.labels ? { labels: info.labels } : {}),
  };
}

/** Attributes become `name → text` (the allocator matches them as strings). */
export function attributesFromWire(
  list: readonly Attribute[],
): Result<Record<string, string>, string> {
  const attributes: Record<string, string> = {};
  for (const attribute of list) {
    if (Object.hasOwn(attributes, attribute.name))
      return err(`attribute ${attribute.name} is listed twice`);
    const value =
      attribute.type === 'TEXT'
        ? attribute.text?.value
        : attribute.type === 'SCALAR'
          ? attribute.scalar && String(attribute.scalar.value)
          : attribute.type === 'SET'
            ? attribute.set?.item.join(',')
            : attribute.ranges?.range.map((range) => `${range.begin}-${range.end}`).join(',');
    if (value === undefined)
      return err(`attribute ${attribute.name} has no ${attribute.type} value`);
    attributes[attribute.name] = value;
  }
  return ok(attributes);
}

export function agentSpecFromWire(
  info: AgentInfo,
  unavailable: Extract<AgentCall, { type: 'REGISTER' }>['register']['unavailable_runtimes'],
): Result<AgentSpec, string> {
  const resources = resourcesFromWire(info.resources);
  if (!resources.ok) return resources;
  const attributes = attributesFromWire(info.attributes);
  if (!attributes.ok) return attributes;
  return ok({
    hostname: info.hostname,
    resources: resources.value,
    runtimes: [...new Set(info.runtimes)],
    attributes: attributes.value,
    ...(unavailable && unavailable.length > 0
      ? { unavailableRuntimes: unavailable.map((entry) => ({ ...entry })) }
      : {}),
  });
}

/**
 * A reported task. The wire Task has no runtime: it is the one the master launched it with when
 * the master knows the task, else the agent's only runtime, else `wasm` (informational: an
 * adopted task's runtime is only shown to operators).
 */
export function reportedTaskFromWire(
  task: Task,
  agentRuntimes: readonly Runtime[],
  view: Readonly<CoreState>,
): Result<ReportedTask, string> {
  const resources = resourcesFromWire(task.resources);
  if (!resources.ok) return err(`task ${task.task_id.value}: ${resources.error}`);
  const known = view.frameworks.get(task.framework_id.value)?.tasks.get(task.task_id.value);
  const runtime: Runtime =
    known?.runtime ?? (agentRuntimes.length === 1 ? agentRuntimes[0]! : 'wasm');
  return ok({
    frameworkId: task.framework_id.value,
    taskId: task.task_id.value,
    name: task.name,
    state: task.state,
    resources: resources.value,
    runtime,
  });
}

export function statusUpdateFromWire(update: StatusUpdate, nowMs: number): AgentStatusUpdate {
  const status = update.status;
  return {
    frameworkId: update.framework_id.value,
    taskId: status.task_id.value,
    state: status.state,
    uuid: status.uuid,
    source: status.source === 'SOURCE_EXECUTOR' ? 'SOURCE_EXECUTOR' : 'SOURCE_AGENT',
    timestampMs: status.timestamp === undefined ? nowMs : Math.round(status.timestamp * 1000),
    ...(status.reason !== undefined && { reason: status.reason }),
    ...(status.message !== undefined && { message: status.message }),
    ...(status.exit_code !== undefined && { exitCode: status.exit_code }),
    ...(status.fuel_consumed !== undefined && { fuelConsumed: status.fuel_consumed }),
    ...(status.peak_memory_bytes !== undefined && { peakMemoryBytes: status.peak_memory_bytes }),
    ...(status.duration_ms !== undefined && { durationMs: status.duration_ms }),
    ...(status.healthy !== undefined && { healthy: status.healthy }),
  };
}

/** A channel call refused before it reaches the core: 400 (invalid) or 403 (not this agent's). */
export interface CallRefusal {
  readonly status: 400 | 403;
  readonly code: string;
  readonly message: string;
}

const invalid = (message: string): CallRefusal => ({ status: 400, code: 'INVALID', message });

/**
 * REGISTER / REREGISTER to a core input. `keyId` is the key that signed the envelope (the core
 * checks it against the admitted agent's key).
 */
export function subscribeInputFromWire(
  call: Extract<AgentCall, { type: 'REGISTER' | 'REREGISTER' }>,
  keyId: string,
  view: Readonly<CoreState>,
  nowMs: number,
): Result<AgentInput, CallRefusal> {
  if (call.type === 'REGISTER') {
    const spec = agentSpecFromWire(call.register.agent_info, call.register.unavailable_runtimes);
    if (!spec.ok) return err(invalid(spec.error));
    return ok({ kind: 'registerAgent', keyId, agent: spec.value });
  }
  const body = call.reregister;
  const agentId = body.agent_id.value;
  const spec = agentSpecFromWire(body.agent_info, body.unavailable_runtimes);
  if (!spec.ok) return err(invalid(spec.error));
  const tasks: ReportedTask[] = [];
  for (const task of body.tasks) {
    if (task.agent_id.value !== agentId)
      return err(invalid(`task ${task.task_id.value} names agent ${task.agent_id.value}`));
    const reported = reportedTaskFromWire(task, spec.value.runtimes, view);
    if (!reported.ok) return err(invalid(reported.error));
    tasks.push(reported.value);
  }
  const unacknowledged: AgentStatusUpdate[] = [];
  for (const update of body.unacknowledged_updates ?? []) {
    if (update.agent_id.value !== agentId)
      return err(invalid(`an unacknowledged update names agent ${update.agent_id.value}`));
    unacknowledged.push(statusUpdateFromWire(update, nowMs));
  }
  return ok({
    kind: 'reregisterAgent',
    keyId,
    agentId,
    agent: spec.value,
    tasks,
    unacknowledged,
  });
}

/** The agent id a call on an open stream names (REGISTER/REREGISTER open streams instead). */
export function callAgentId(call: AgentCall): string | undefined {
  switch (call.type) {
    case 'HEARTBEAT':
      return call.heartbeat.agent_id.value;
    case 'STATUS_UPDATE':
      return call.status_update.update.agent_id.value;
    case 'STATUS_UPDATES':
      return call.status_updates.agent_id.value;
    case 'UPDATE_AGENT':
      return call.update_agent.agent_id.value;
    case 'UNREGISTER':
      return call.unregister.agent_id.value;
    case 'LOGS':
      return call.logs.agent_id.value;
    case 'REGISTER':
    case 'REREGISTER':
      return undefined;
  }
}

/**
 * A core message to the wire event, or undefined when the agent channel has no event for it
 * (framework messages: wasmos tasks have no executor to receive them).
 */
export function agentEventOf(
  agentId: string,
  message: AgentMessage,
): Result<AgentEvent, string> | undefined {
  switch (message.type) {
    case 'registered':
    case 'reregistered': {
      const body = {
        agent_id: { value: message.agentId },
        heartbeat_interval_seconds: message.heartbeatIntervalMs / 1000,
      };
      return ok(
        message.type === 'registered'
          ? { type: 'REGISTERED', registered: body }
          : { type: 'REREGISTERED', reregistered: body },
      );
    }
    case 'launch': {
      const payload = LaunchPayload.safeParse(message.payload);
      if (!payload.success)
        return err(`task ${message.taskId}: its launch payload is not a task description`);
      return ok({
        type: 'LAUNCH',
        launch: {
          framework_id: { value: message.frameworkId },
          task: {
            ...launchPayloadOf(payload.data),
            name: message.name,
            task_id: { value: message.taskId },
            agent_id: { value: agentId },
            resources: resourcesToWire(message.resources),
          },
        },
      });
    }
    case 'kill':
      return ok({
        type: 'KILL',
        kill: { framework_id: { value: message.frameworkId }, task_id: { value: message.taskId } },
      });
    case 'acknowledgeUpdate':
      return ok({
        type: 'ACKNOWLEDGE_UPDATE',
        acknowledge_update: {
          framework_id: { value: message.frameworkId },
          task_id: { value: message.taskId },
          uuid: message.uuid,
        },
      });
    case 'shutdownFramework':
      return ok({
        type: 'SHUTDOWN_FRAMEWORK',
        shutdown_framework: { framework_id: { value: message.frameworkId } },
      });
    case 'error':
      return ok({ type: 'ERROR', error: { message: message.message } });
    case 'frameworkMessage':
      return undefined;
  }
}
