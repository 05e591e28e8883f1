import { z } from 'zod';
import { fieldLimits as limits } from '../limits.js';
import { base64Bytes, Id, list, naturalNumber, nonEmptyText, Runtime, text } from './common.js';
import { AgentInfo, FrameworkInfo, StatusUuid, Task, TaskInfo, TaskStatus } from './task.js';

/**
 * The wasmos agent channel (Mesos keeps this internal; ours is public and signed), in the same
 * style as the scheduler API: snake_case, a `type`, and one field named after the type.
 */

/** A task status update from an agent; `status.uuid` is required so it can be acknowledged. */
export const StatusUpdate = z.strictObject({
  framework_id: Id,
  agent_id: Id,
  status: TaskStatus.extend({ uuid: StatusUuid }),
  /** The state of the newest update the agent holds for this task (Mesos `latest_state`). */
  latest_state: TaskStatus.shape.state.optional(),
});
export type StatusUpdate = z.infer<typeof StatusUpdate>;

const agent = { agent_id: Id };

/**
 * Bounds of the batched forms of the channel (docs/AGENT-CHANNEL.md, "Batching"). A batch is
 * still one signed envelope, so it is also bounded in bytes by the envelope limit
 * (`protocolLimits.envelopeBytesMax`) and the master's `callBytesMax`.
 */
export const agentBatchLimits = {
  /** Status updates in one STATUS_UPDATES call. */
  statusUpdatesPerCallMax: 128,
  /** Acknowledgements in one ACKNOWLEDGE_UPDATES event. */
  acknowledgementsPerEventMax: 256,
} as const;

/** One acknowledgement: the framework acknowledged this update (uuid) of this task. */
export const Acknowledgement = z.strictObject({ framework_id: Id, task_id: Id, uuid: StatusUuid });
export type Acknowledgement = z.infer<typeof Acknowledgement>;

/** Which of a task's output streams a log request or chunk is about. */
export const LogStream = z.enum(['stdout', 'stderr']);
export type LogStream = z.infer<typeof LogStream>;

/**
 * A runtime the agent does not offer, and why: `disabled` when the operator left it out
 * (`--runtimes`), `unsupported` when the host cannot run it (e.g. no root or cgroups for
 * `linux`). Shown to operators (`wasmos agents`); the master never schedules on it.
 */
export const UnavailableRuntime = z.strictObject({
  runtime: Runtime,
  cause: z.enum(['disabled', 'unsupported']),
  reason: nonEmptyText(limits.messageCharsMax),
});
export type UnavailableRuntime = z.infer<typeof UnavailableRuntime>;

/** At most one entry per runtime. */
const unavailableRuntimes = list(UnavailableRuntime, limits.runtimesMax)
  .refine((entries) => new Set(entries.map((entry) => entry.runtime)).size === entries.length, {
    message: 'each runtime may be listed as unavailable once',
  })
  .optional();

export const AgentCall = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('REGISTER'),
    register: z.strictObject({
      agent_info: AgentInfo,
      agent_id: Id.optional(),
      unavailable_runtimes: unavailableRuntimes,
    }),
  }),
  z.strictObject({
    type: z.literal('REREGISTER'),
    reregister: z.strictObject({
      ...agent,
      agent_info: AgentInfo,
      tasks: list(Task, limits.tasksMax),
      unacknowledged_updates: list(StatusUpdate, limits.tasksMax).optional(),
      unavailable_runtimes: unavailableRuntimes,
    }),
  }),
  z.strictObject({ type: z.literal('HEARTBEAT'), heartbeat: z.strictObject(agent) }),
  z.strictObject({
    type: z.literal('STATUS_UPDATE'),
    status_update: z.strictObject({ update: StatusUpdate }),
  }),
  /**
   * Several status updates (of different tasks, or of one task in order) in one signed call; the
   * master steps them in order and answers which it refused (docs/AGENT-CHANNEL.md). Every
   * update names the call's agent.
   */
  z.strictObject({
    type: z.literal('STATUS_UPDATES'),
    status_updates: z.strictObject({
      ...agent,
      updates: list(StatusUpdate, agentBatchLimits.statusUpdatesPerCallMax).min(1),
    }),
  }),
  /** The agent's resources or runtimes changed (e.g. a runtime became unavailable). */
  z.strictObject({
    type: z.literal('UPDATE_AGENT'),
    update_agent: z.strictObject({ ...agent, agent_info: AgentInfo }),
  }),
  /** A clean shutdown: the master may forget the agent without waiting for heartbeats to lapse. */
  z.strictObject({ type: z.literal('UNREGISTER'), unregister: z.strictObject(agent) }),
  /** The answer to a LOGS_REQUEST: a chunk of a task's stdout or stderr (docs/AGENT-CHANNEL.md). */
  z.strictObject({
    type: z.literal('LOGS'),
    logs: z.strictObject({
      ...agent,
      request_id: nonEmptyText(limits.idCharsMax),
      framework_id: Id,
      task_id: Id,
      stream: LogStream,
      /** Byte offset of `data` in the stream since the task started (rotation drops old bytes). */
      offset: naturalNumber(Number.MAX_SAFE_INTEGER),
      data: base64Bytes(limits.dataBytesMax),
      /** Bytes the task has written to the stream so far. */
      size: naturalNumber(Number.MAX_SAFE_INTEGER),
      /** The task has ended: nothing will be added past `size`. */
      complete: z.boolean(),
      /** Set when no logs could be read (unknown task, sandbox gone); `data` is then empty. */
      error: text(limits.messageCharsMax).optional(),
    }),
  }),
]);
export type AgentCall = z.infer<typeof AgentCall>;
export type AgentCallType = AgentCall['type'];

const registered = z.strictObject({
  ...agent,
  heartbeat_interval_seconds: z.number().min(0).max(limits.heartbeatSecondsMax),
});

export const AgentEvent = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('REGISTERED'), registered }),
  z.strictObject({ type: z.literal('REREGISTERED'), reregistered: registered }),
  z.strictObject({
    type: z.literal('LAUNCH'),
    launch: z.strictObject({
      framework_id: Id,
      framework_info: FrameworkInfo.optional(),
      task: TaskInfo,
    }),
  }),
  z.strictObject({
    type: z.literal('KILL'),
    kill: z.strictObject({
      framework_id: Id,
      task_id: Id,
      grace_period_ms: z.number().int().min(0).max(limits.wasmTimeoutMsMax).optional(),
    }),
  }),
  z.strictObject({
    type: z.literal('ACKNOWLEDGE_UPDATE'),
    acknowledge_update: Acknowledgement,
  }),
  /**
   * Several acknowledgements in one signed record, in the order the framework sent them. Sent
   * only to an agent that has sent STATUS_UPDATES on the stream (so an older agent never gets
   * an event it cannot read).
   */
  z.strictObject({
    type: z.literal('ACKNOWLEDGE_UPDATES'),
    acknowledge_updates: z.strictObject({
      acknowledgements: list(Acknowledgement, agentBatchLimits.acknowledgementsPerEventMax).min(1),
    }),
  }),
  z.strictObject({
    type: z.literal('SHUTDOWN_FRAMEWORK'),
    shutdown_framework: z.strictObject({ framework_id: Id }),
  }),
  /** The master asks for the latest status of these tasks (empty: of every task). */
  z.strictObject({
    type: z.literal('RECONCILE'),
    reconcile: z.strictObject({
      tasks: list(z.strictObject({ framework_id: Id, task_id: Id }), limits.tasksMax),
    }),
  }),
  z.strictObject({ type: z.literal('HEARTBEAT') }),
  /**
   * The master wants a chunk of a task's log (for `wasmos logs`); the agent answers with a LOGS
   * call carrying the same request_id. No `offset`: the last `length` bytes.
   */
  z.strictObject({
    type: z.literal('LOGS_REQUEST'),
    logs_request: z.strictObject({
      request_id: nonEmptyText(limits.idCharsMax),
      framework_id: Id,
      task_id: Id,
      stream: LogStream,
      offset: naturalNumber(Number.MAX_SAFE_INTEGER).optional(),
      length: naturalNumber(limits.dataBytesMax),
    }),
  }),
  z.strictObject({
    type: z.literal('ERROR'),
    error: z.strictObject({ message: text(limits.messageCharsMax) }),
  }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;
export type AgentEventType = AgentEvent['type'];
