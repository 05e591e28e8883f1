import type {
  AgentCall,
  AgentEvent,
  SchedulerCall,
  SchedulerEvent,
  TaskInfo,
  TaskStatus,
} from '../../protocol/index.js';

/** One example of every message variant, shared by the protocol tests and the benchmark. */

const frameworkId = { value: 'fw-1f2e3d' };
const agentId = { value: 'agent-0001' };
const taskId = { value: 'task-42' };
const uuid = 'q83vEjRWeJCrze8SNFZ4kA==';
/** A second status update uuid, for the batched forms. */
const otherUuid = 'AAECAwQFBgcICQoLDA0ODw==';

const resources = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
  { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31010 }] } },
] as const satisfies TaskInfo['resources'];

export const taskInfo: TaskInfo = {
  name: 'hello',
  task_id: taskId,
  agent_id: agentId,
  resources: [...resources],
  wasm: {
    digest: 'sha256:' + 'ab'.repeat(32),
    fuel: 1_000_000,
    memory_bytes: 64 * 1024 * 1024,
    timeout_ms: 5000,
    args: ['hello', '--loud'],
    env: [{ name: 'GREETING', value: 'hi' }],
    permissions: { read: ['/data'], net: ['example.com:443'] },
    entrypoint: 'command',
  },
  labels: { labels: [{ key: 'team', value: 'infra' }] },
};

/** A typical status update (the benchmark's message): about 200 bytes sealed. */
export const runningStatus: TaskStatus & { uuid: string } = {
  task_id: taskId,
  state: 'TASK_RUNNING',
  source: 'SOURCE_AGENT',
  agent_id: agentId,
  timestamp: 1_767_225_600.123,
  uuid,
  message: 'started',
};

const finishedStatus: TaskStatus = {
  task_id: taskId,
  state: 'TASK_FAILED',
  reason: 'REASON_FUEL_EXHAUSTED',
  uuid,
  exit_code: 1,
  fuel_consumed: 1_000_000,
  peak_memory_bytes: 2_097_152,
  duration_ms: 12,
};

const agentInfo = {
  hostname: 'node-1.example',
  port: 5051,
  resources: [...resources],
  attributes: [{ name: 'rack', type: 'TEXT' as const, text: { value: 'r1' } }],
  runtimes: ['wasm' as const, 'linux' as const],
  version: '0.1.0',
};

export const schedulerCalls: SchedulerCall[] = [
  {
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: 'alice',
        name: 'batch',
        roles: ['analytics'],
        failover_timeout: 60,
        checkpoint: true,
        capabilities: [{ type: 'MULTI_ROLE' }],
      },
    },
  },
  { type: 'TEARDOWN', framework_id: frameworkId },
  {
    type: 'ACCEPT',
    framework_id: frameworkId,
    accept: {
      offer_ids: [{ value: 'offer-1' }],
      operations: [{ type: 'LAUNCH', launch: { task_infos: [taskInfo] } }],
      filters: { refuse_seconds: 5 },
    },
  },
  { type: 'DECLINE', framework_id: frameworkId, decline: { offer_ids: [{ value: 'offer-2' }] } },
  { type: 'REVIVE', framework_id: frameworkId, revive: { roles: ['analytics'] } },
  { type: 'SUPPRESS', framework_id: frameworkId },
  { type: 'KILL', framework_id: frameworkId, kill: { task_id: taskId, agent_id: agentId } },
  {
    type: 'SHUTDOWN',
    framework_id: frameworkId,
    shutdown: { executor_id: { value: 'ex-1' }, agent_id: agentId },
  },
  {
    type: 'ACKNOWLEDGE',
    framework_id: frameworkId,
    acknowledge: { agent_id: agentId, task_id: taskId, uuid },
  },
  { type: 'RECONCILE', framework_id: frameworkId, reconcile: { tasks: [{ task_id: taskId }] } },
  {
    type: 'MESSAGE',
    framework_id: frameworkId,
    message: { agent_id: agentId, executor_id: { value: 'ex-1' }, data: 'aGVsbG8=' },
  },
];

export const schedulerEvents: SchedulerEvent[] = [
  {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: frameworkId,
      heartbeat_interval_seconds: 15,
      master_info: { id: 'master-1', ip: 2130706433, port: 5050, hostname: 'localhost' },
    },
  },
  {
    type: 'OFFERS',
    offers: {
      offers: [
        {
          id: { value: 'offer-1' },
          framework_id: frameworkId,
          agent_id: agentId,
          hostname: 'node-1.example',
          resources: [...resources],
          attributes: agentInfo.attributes,
          runtimes: ['wasm'],
        },
      ],
    },
  },
  { type: 'RESCIND', rescind: { offer_id: { value: 'offer-1' } } },
  { type: 'UPDATE', update: { status: finishedStatus } },
  {
    type: 'MESSAGE',
    message: { agent_id: agentId, executor_id: { value: 'ex-1' }, data: 'aGVsbG8=' },
  },
  { type: 'FAILURE', failure: { agent_id: agentId } },
  { type: 'ERROR', error: { message: 'framework removed' } },
  { type: 'HEARTBEAT' },
];

export const agentCalls: AgentCall[] = [
  { type: 'REGISTER', register: { agent_info: agentInfo } },
  {
    type: 'REREGISTER',
    reregister: {
      agent_id: agentId,
      agent_info: agentInfo,
      tasks: [
        {
          name: 'hello',
          task_id: taskId,
          framework_id: frameworkId,
          agent_id: agentId,
          state: 'TASK_RUNNING',
          resources: [...resources],
        },
      ],
      unacknowledged_updates: [
        { framework_id: frameworkId, agent_id: agentId, status: runningStatus },
      ],
    },
  },
  { type: 'HEARTBEAT', heartbeat: { agent_id: agentId } },
  {
    type: 'STATUS_UPDATE',
    status_update: {
      update: { framework_id: frameworkId, agent_id: agentId, status: runningStatus },
    },
  },
  {
    type: 'STATUS_UPDATES',
    status_updates: {
      agent_id: agentId,
      updates: [
        { framework_id: frameworkId, agent_id: agentId, status: runningStatus },
        {
          framework_id: frameworkId,
          agent_id: agentId,
          status: { ...runningStatus, state: 'TASK_FINISHED', uuid: otherUuid },
        },
      ],
    },
  },
  { type: 'UPDATE_AGENT', update_agent: { agent_id: agentId, agent_info: agentInfo } },
  { type: 'UNREGISTER', unregister: { agent_id: agentId } },
  {
    type: 'LOGS',
    logs: {
      agent_id: agentId,
      request_id: 'req-1',
      framework_id: frameworkId,
      task_id: taskId,
      stream: 'stdout',
      offset: 0,
      data: 'aGVsbG8K',
      size: 6,
      complete: true,
    },
  },
];

export const agentEvents: AgentEvent[] = [
  { type: 'REGISTERED', registered: { agent_id: agentId, heartbeat_interval_seconds: 5 } },
  { type: 'REREGISTERED', reregistered: { agent_id: agentId, heartbeat_interval_seconds: 5 } },
  {
    type: 'LAUNCH',
    launch: {
      framework_id: frameworkId,
      framework_info: { user: 'alice', name: 'batch' },
      task: taskInfo,
    },
  },
  { type: 'KILL', kill: { framework_id: frameworkId, task_id: taskId, grace_period_ms: 1000 } },
  {
    type: 'ACKNOWLEDGE_UPDATE',
    acknowledge_update: { framework_id: frameworkId, task_id: taskId, uuid },
  },
  {
    type: 'ACKNOWLEDGE_UPDATES',
    acknowledge_updates: {
      acknowledgements: [
        { framework_id: frameworkId, task_id: taskId, uuid },
        { framework_id: frameworkId, task_id: { value: 'task-2' }, uuid: otherUuid },
      ],
    },
  },
  { type: 'SHUTDOWN_FRAMEWORK', shutdown_framework: { framework_id: frameworkId } },
  { type: 'RECONCILE', reconcile: { tasks: [{ framework_id: frameworkId, task_id: taskId }] } },
  { type: 'HEARTBEAT' },
  { type: 'ERROR', error: { message: 'unknown agent' } },
  {
    type: 'LOGS_REQUEST',
    logs_request: {
      request_id: 'req-1',
      framework_id: frameworkId,
      task_id: taskId,
      stream: 'stderr',
      length: 4096,
    },
  },
];

export const statusUpdateCall: AgentCall = agentCalls[3]!;
