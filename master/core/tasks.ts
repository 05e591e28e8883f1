import { assert } from '../../lib/assert.js';
import {
  taskStates,
  terminalTaskStates,
  type TaskReason,
  type TaskState,
} from '../../protocol/messages/task.js';
import type { Resources } from './resources.js';

export { taskStates, terminalTaskStates, type TaskReason, type TaskState };

/** The runtimes an agent can offer and a task can need (protocol `Runtime`). */
export type Runtime = 'wasm' | 'linux';

export function isTerminal(state: TaskState): boolean {
  return terminalTaskStates.has(state);
}

const nonTerminalTargets: readonly TaskState[] = [
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_UNREACHABLE',
];

/**
 * Which state may follow which. Terminal states are final. TASK_STAGING is only ever the first
 * state (the master sets it at launch), TASK_UNKNOWN is only an answer to reconciliation, never a
 * stored state. Among live states the agent's order wins (Mesos derives them from the executor),
 * so any live state may follow any live state.
 */
export const taskTransitions: Readonly<Record<TaskState, ReadonlySet<TaskState>>> =
  Object.fromEntries(
    taskStates.map((from) => {
      const targets = new Set<TaskState>();
      if (!isTerminal(from) && from !== 'TASK_UNKNOWN') {
        for (const to of nonTerminalTargets) targets.add(to);
        for (const to of terminalTaskStates) targets.add(to);
      }
      return [from, targets];
    }),
  ) as unknown as Record<TaskState, ReadonlySet<TaskState>>;

export function canTransition(from: TaskState, to: TaskState): boolean {
  return taskTransitions[from].has(to);
}

export type StatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

/**
 * What one status says about its task, whoever reports it: the state and why, and what the
 * executor measured. An agent's update and the status frameworks see both carry these.
 */
export interface TaskStatusFacts {
  readonly state: TaskState;
  readonly reason?: TaskReason;
  readonly message?: string;
  readonly timestampMs: number;
  readonly exitCode?: number;
  readonly fuelConsumed?: number;
  readonly peakMemoryBytes?: number;
  readonly durationMs?: number;
  readonly healthy?: boolean;
}

/** A task status as frameworks see it (protocol TaskStatus, camelCase). */
export interface TaskStatusView extends TaskStatusFacts {
  readonly taskId: string;
  readonly agentId: string | undefined;
  readonly source: StatusSource;
  /** Present on agent updates, which must be acknowledged; absent on master-generated ones. */
  readonly uuid?: string;
}

/** What the master keeps about a task: soft state, rebuilt from agents after a restart. */
export interface TaskRecord {
  readonly id: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly name: string;
  readonly resources: Resources;
  readonly runtime: Runtime;
  state: TaskState;
  /** The latest status (forwarded or master-generated). */
  status: TaskStatusView;
  /** The uuid of the latest agent update, until the framework acknowledges it. */
  pendingUuid: string | undefined;
  /** Recent agent update uuids, newest last, to recognise stale duplicates. */
  readonly recentUuids: string[];
  /** A KILL was asked for; repeated to the agent when it re-registers. */
  killRequested: boolean;
}

export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

/** Moves a task to `status.state`; the caller checked the transition. */
export function applyStatus(task: TaskRecord, status: TaskStatusView): void {
  assert(canTransition(task.state, status.state), `${task.state} → ${status.state} is allowed`);
  assert(status.taskId === task.id, 'a status applies to its own task');
  task.state = status.state;
  task.status = status;
}

export function masterStatus(
  task: { readonly id: string; readonly agentId: string | undefined },
  state: TaskState,
  reason: TaskReason,
  message: string,
  nowMs: number,
): TaskStatusView {
  return {
    taskId: task.id,
    agentId: task.agentId,
    state,
    source: 'SOURCE_MASTER',
    reason,
    message,
    timestampMs: nowMs,
  };
}
