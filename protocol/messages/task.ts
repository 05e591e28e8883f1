import { z } from 'zod';
import { fieldLimits as limits } from '../limits.js';
import {
  Attribute,
  base64Bytes,
  Id,
  Labels,
  list,
  naturalNumber,
  nonEmptyText,
  Resource,
  Runtime,
  text,
} from './common.js';

/** All Mesos v1 task states. */
export const taskStates = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
] as const;
export const TaskState = z.enum(taskStates);
export type TaskState = z.infer<typeof TaskState>;

/** States after which a task never changes again (Mesos's `protobuf::isTerminalState`). */
export const terminalTaskStates: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

export const taskStatusSources = ['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR'] as const;
export const TaskStatusSource = z.enum(taskStatusSources);

/** Mesos v1 TaskStatus reasons, then the ones wasmos adds for its runtimes. */
export const mesosTaskReasons = [
  'REASON_COMMAND_EXECUTOR_FAILED',
  'REASON_CONTAINER_LAUNCH_FAILED',
  'REASON_CONTAINER_LIMITATION',
  'REASON_CONTAINER_LIMITATION_DISK',
  'REASON_CONTAINER_LIMITATION_EPHEMERAL_STORAGE',
  'REASON_CONTAINER_LIMITATION_MEMORY',
  'REASON_CONTAINER_PREEMPTED',
  'REASON_CONTAINER_UPDATE_FAILED',
  'REASON_MAX_COMPLETION_TIME_REACHED',
  'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
  'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
  'REASON_EXECUTOR_TERMINATED',
  'REASON_EXECUTOR_UNREGISTERED',
  'REASON_FRAMEWORK_REMOVED',
  'REASON_GC_ERROR',
  'REASON_INVALID_FRAMEWORKID',
  'REASON_INVALID_OFFERS',
  'REASON_IO_SWITCHBOARD_EXITED',
  'REASON_MASTER_DISCONNECTED',
  'REASON_RECONCILIATION',
  'REASON_RESOURCES_UNKNOWN',
  'REASON_AGENT_DISCONNECTED',
  'REASON_AGENT_REMOVED',
  'REASON_AGENT_REMOVED_BY_OPERATOR',
  'REASON_AGENT_REREGISTERED',
  'REASON_AGENT_RESTARTED',
  'REASON_AGENT_UNKNOWN',
  'REASON_TASK_KILLED_DURING_LAUNCH',
  'REASON_TASK_CHECK_STATUS_UPDATED',
  'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
  'REASON_TASK_GROUP_INVALID',
  'REASON_TASK_GROUP_UNAUTHORIZED',
  'REASON_TASK_INVALID',
  'REASON_TASK_UNAUTHORIZED',
  'REASON_TASK_UNKNOWN',
  'REASON_TASK_UNREACHABLE',
] as const;
export const wasmosTaskReasons = [
  /** The task used up its fuel (instruction budget). */
  'REASON_FUEL_EXHAUSTED',
  /** The task ran past its wall-clock `timeout_ms`. */
  'REASON_TIMEOUT',
  /** The component trapped (unreachable, out-of-bounds access, ...). */
  'REASON_WASM_TRAP',
  /** The component could not be fetched, verified against its digest, or compiled. */
  'REASON_WASM_INVALID',
  /** The task asked for a file, host or variable its permissions do not grant. */
  'REASON_PERMISSION_DENIED',
  /** The agent cannot run this runtime (e.g. no cgroups for `linux`). */
  'REASON_RUNTIME_UNAVAILABLE',
] as const;
export const taskReasons = [...mesosTaskReasons, ...wasmosTaskReasons] as const;
export const TaskReason = z.enum(taskReasons);
export type TaskReason = z.infer<typeof TaskReason>;

/** 16 bytes in Mesos (a UUID), base64 on the wire. */
export const StatusUuid = base64Bytes(64);

/** Mesos v1 TaskStatus, plus wasmos result fields (all optional). */
export const TaskStatus = z.strictObject({
  task_id: Id,
  state: TaskState,
  message: text(limits.messageCharsMax).optional(),
  source: TaskStatusSource.optional(),
  reason: TaskReason.optional(),
  data: base64Bytes(limits.dataBytesMax).optional(),
  agent_id: Id.optional(),
  executor_id: Id.optional(),
  /** Seconds since the epoch, as in Mesos. */
  timestamp: z.number().min(0).max(1e11).optional(),
  uuid: StatusUuid.optional(),
  healthy: z.boolean().optional(),
  labels: Labels.optional(),
  exit_code: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32)
    .optional(),
  fuel_consumed: naturalNumber(Number.MAX_SAFE_INTEGER).optional(),
  peak_memory_bytes: naturalNumber(Number.MAX_SAFE_INTEGER).optional(),
  duration_ms: naturalNumber(Number.MAX_SAFE_INTEGER).optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const EnvironmentVariable = z.strictObject({
  name: nonEmptyText(limits.nameCharsMax),
  type: z.enum(['VALUE', 'SECRET']).optional(),
  value: text(limits.textCharsMax).optional(),
});
export const Environment = z.strictObject({
  variables: list(EnvironmentVariable, limits.envVarsMax),
});

export const CommandUri = z.strictObject({
  value: nonEmptyText(limits.urlCharsMax),
  executable: z.boolean().optional(),
  extract: z.boolean().optional(),
  cache: z.boolean().optional(),
  output_file: text(limits.pathCharsMax).optional(),
});

/** Mesos CommandInfo: `shell` defaults to true (run `value` with /bin/sh -c). */
export const CommandInfo = z.strictObject({
  uris: list(CommandUri, limits.argumentsMax).optional(),
  environment: Environment.optional(),
  shell: z.boolean().optional(),
  value: text(limits.commandCharsMax).optional(),
  arguments: list(text(limits.argumentCharsMax), limits.argumentsMax).optional(),
  user: text(limits.nameCharsMax).optional(),
  /**
   * wasmos, Linux tasks: `read-only` makes the host's files read-only for the task except its
   * sandbox and private /tmp, /var/tmp, /dev/shm; `writable` (the agent's default unless it runs
   * with `--linux-filesystem read-only`, which a task cannot loosen) leaves the user's permissions.
   */
  filesystem: z.enum(['writable', 'read-only']).optional(),
});
export type CommandInfo = z.infer<typeof CommandInfo>;

/** What a wasm task may touch; everything else is denied. */
export const WasmPermissions = z.strictObject({
  read: list(nonEmptyText(limits.pathCharsMax), limits.permissionsMax).optional(),
  write: list(nonEmptyText(limits.pathCharsMax), limits.permissionsMax).optional(),
  net: list(nonEmptyText(limits.hostnameCharsMax + 6), limits.permissionsMax).optional(),
});

/** wasmos: a WebAssembly component task (instead of, or as well as, a command). */
export const WasmInfo = z.strictObject({
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>'),
  url: nonEmptyText(limits.urlCharsMax).optional(),
  fuel: naturalNumber(limits.wasmFuelMax).optional(),
  memory_bytes: naturalNumber(limits.wasmMemoryBytesMax).optional(),
  timeout_ms: naturalNumber(limits.wasmTimeoutMsMax).optional(),
  args: list(text(limits.argumentCharsMax), limits.argumentsMax).optional(),
  env: list(EnvironmentVariable, limits.envVarsMax).optional(),
  permissions: WasmPermissions.optional(),
  entrypoint: z.enum(['command', 'handler']).optional(),
  input: base64Bytes(limits.dataBytesMax).optional(),
});
export type WasmInfo = z.infer<typeof WasmInfo>;

/** Mesos TaskInfo (no executor or container info: tasks are commands or wasm). */
export const TaskInfo = z.strictObject({
  name: text(limits.nameCharsMax),
  task_id: Id,
  agent_id: Id,
  resources: list(Resource, limits.resourcesMax),
  command: CommandInfo.optional(),
  wasm: WasmInfo.optional(),
  data: base64Bytes(limits.dataBytesMax).optional(),
  labels: Labels.optional(),
});
export type TaskInfo = z.infer<typeof TaskInfo>;

/** Mesos Task: what an agent reports about a task it runs (on reregistration). */
export const Task = z.strictObject({
  name: text(limits.nameCharsMax),
  task_id: Id,
  framework_id: Id,
  agent_id: Id,
  state: TaskState,
  resources: list(Resource, limits.resourcesMax),
  status_update_state: TaskState.optional(),
  status_update_uuid: StatusUuid.optional(),
  labels: Labels.optional(),
});
export type Task = z.infer<typeof Task>;

/** Mesos URL/Address (an offer's agent endpoint). */
export const Url = z.strictObject({
  scheme: nonEmptyText(16),
  address: z.strictObject({
    hostname: text(limits.hostnameCharsMax).optional(),
    ip: text(64).optional(),
    port: naturalNumber(65_535),
  }),
  path: text(limits.pathCharsMax).optional(),
});

/** Mesos Offer plus `runtimes`: the task runtimes the agent supports. */
export const Offer = z.strictObject({
  id: Id,
  framework_id: Id,
  agent_id: Id,
  hostname: nonEmptyText(limits.hostnameCharsMax),
  url: Url.optional(),
  resources: list(Resource, limits.resourcesMax),
  attributes: list(Attribute, limits.attributesMax).optional(),
  allocation_info: z.strictObject({ role: text(limits.roleCharsMax).optional() }).optional(),
  runtimes: list(Runtime, limits.runtimesMax),
});
export type Offer = z.infer<typeof Offer>;

export const Filters = z.strictObject({
  refuse_seconds: z.number().min(0).max(31_536_000).optional(),
});

export const FrameworkCapability = z.strictObject({
  type: z.enum([
    'UNKNOWN',
    'REVOCABLE_RESOURCES',
    'TASK_KILLING_STATE',
    'GPU_RESOURCES',
    'SHARED_RESOURCES',
    'PARTITION_AWARE',
    'MULTI_ROLE',
    'RESERVATION_REFINEMENT',
    'REGION_AWARE',
  ]),
});

/** Mesos FrameworkInfo. */
export const FrameworkInfo = z.strictObject({
  user: text(limits.nameCharsMax),
  name: text(limits.nameCharsMax),
  id: Id.optional(),
  failover_timeout: z.number().min(0).max(1e9).optional(),
  checkpoint: z.boolean().optional(),
  role: text(limits.roleCharsMax).optional(),
  roles: list(text(limits.roleCharsMax), limits.rolesMax).optional(),
  hostname: text(limits.hostnameCharsMax).optional(),
  principal: text(limits.nameCharsMax).optional(),
  webui_url: text(limits.urlCharsMax).optional(),
  capabilities: list(FrameworkCapability, limits.capabilitiesMax).optional(),
  labels: Labels.optional(),
});
export type FrameworkInfo = z.infer<typeof FrameworkInfo>;

/** Mesos MasterInfo (as sent in SUBSCRIBED). */
export const MasterInfo = z.strictObject({
  id: nonEmptyText(limits.idCharsMax),
  ip: naturalNumber(2 ** 32 - 1),
  port: naturalNumber(65_535),
  pid: text(limits.urlCharsMax).optional(),
  hostname: text(limits.hostnameCharsMax).optional(),
  version: text(limits.versionCharsMax).optional(),
});

/** Agent properties, as an agent announces them (REGISTER, REREGISTER, UPDATE_AGENT). */
export const AgentInfo = z.strictObject({
  hostname: nonEmptyText(limits.hostnameCharsMax),
  port: naturalNumber(65_535).optional(),
  resources: list(Resource, limits.resourcesMax),
  attributes: list(Attribute, limits.attributesMax),
  runtimes: list(Runtime, limits.runtimesMax),
  version: text(limits.versionCharsMax),
});
export type AgentInfo = z.infer<typeof AgentInfo>;
