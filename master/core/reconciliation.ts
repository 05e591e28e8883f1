import type { CoreState, FrameworkState } from './state.js';
import { masterStatus, type TaskState, type TaskStatusView } from './tasks.js';

/**
 * RECONCILE, as in Mesos. Implicit (no tasks listed): the latest state of every task the master
 * knows for the framework. Explicit: for each listed task its latest state, or, when unknown:
 * - its agent is re-registering after a master restart: no answer yet (the agent will tell);
 * - its agent is unreachable: TASK_UNREACHABLE; gone: TASK_GONE_BY_OPERATOR;
 * - its agent is registered (so the task is truly not there): TASK_GONE;
 * - no agent given, or an agent never seen: TASK_UNKNOWN;
 * and frameworks that are not partition-aware get TASK_LOST instead of the last four.
 */
export function reconcile(
  core: CoreState,
  framework: FrameworkState,
  tasks: readonly { readonly taskId: string; readonly agentId?: string }[],
  nowMs: number,
): TaskStatusView[] {
  if (tasks.length === 0) {
    return [...framework.tasks.values()].map((task) => reconciled(task.status, nowMs));
  }
  const answers: TaskStatusView[] = [];
  for (const wanted of tasks) {
    const known =
      framework.tasks.get(wanted.taskId) ??
      framework.completed.find((task) => task.id === wanted.taskId);
    if (known) {
      answers.push(reconciled(known.status, nowMs));
      continue;
    }
    const state = unknownTaskState(core, framework, wanted.agentId);
    if (state === undefined) continue;
    answers.push(
      masterStatus(
        { id: wanted.taskId, agentId: wanted.agentId },
        state,
        'REASON_RECONCILIATION',
        'reconciliation',
        nowMs,
      ),
    );
  }
  return answers;
}

function unknownTaskState(
  core: CoreState,
  framework: FrameworkState,
  agentId: string | undefined,
): TaskState | undefined {
  const agent = agentId === undefined ? undefined : core.agents.get(agentId);
  let state: TaskState;
  if (!agent) state = 'TASK_UNKNOWN';
  else if (agent.status === 'recovering') return undefined;
  else if (agent.status === 'unreachable') state = 'TASK_UNREACHABLE';
  else if (agent.status === 'gone') state = 'TASK_GONE_BY_OPERATOR';
  else state = 'TASK_GONE';
  return framework.partitionAware ? state : 'TASK_LOST';
}

/** A reconciliation answer: the latest state, sent by the master, with no uuid to acknowledge. */
function reconciled(status: TaskStatusView, nowMs: number): TaskStatusView {
  const { uuid: _uuid, ...rest } = status;
  return { ...rest, source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', timestampMs: nowMs };
}
