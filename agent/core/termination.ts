import { unreachable } from '../../lib/assert.js';
import type { TaskReason, TaskState, TaskStatus } from '../../protocol/messages/task.js';
import type { Termination } from '../containerizer/containerizer.js';
import type { Limitation } from './disk.js';

/** The terminal state, reason and result fields of a status update, without ids and uuid. */
export type TerminalFields = Pick<
  TaskStatus,
  | 'state'
  | 'reason'
  | 'message'
  | 'exit_code'
  | 'fuel_consumed'
  | 'peak_memory_bytes'
  | 'duration_ms'
>;

/**
 * How a container's end becomes a task's terminal state (pure). A kill the framework asked for is
 * TASK_KILLED whatever the runtime reports; a clean exit is TASK_FINISHED (Mesos has no reason
 * for either: `message` says what happened, as it always does); every limit is
 * TASK_FAILED with the reason that names it; a container that did not survive the agent is
 * TASK_LOST with REASON_AGENT_RESTARTED.
 */
export function terminalFields(
  termination: Termination,
  killRequested: boolean,
  limitation?: Limitation,
): TerminalFields {
  // The agent killed the task for a limit it went past: that is why it ended, whatever the
  // runtime saw (a kill, or an exit racing it). Only a container lost meanwhile says otherwise.
  const limited = limitation !== undefined && termination.reason !== 'lost';
  const [state, reason] = limited
    ? (['TASK_FAILED', limitation.reason] as const)
    : stateAndReason(termination, killRequested);
  const fields: TerminalFields = {
    state,
    ...(reason === undefined ? {} : { reason }),
    message: (limited ? limitation.message : termination.message).slice(0, 4096),
    duration_ms: Math.max(0, Math.round(termination.durationMs)),
    fuel_consumed: Math.max(0, Math.round(termination.fuelConsumed ?? 0)),
    peak_memory_bytes: Math.max(0, Math.round(termination.peakMemoryBytes ?? 0)),
  };
  return termination.exitCode === null || limited
    ? fields
    : { ...fields, exit_code: termination.exitCode };
}

function stateAndReason(
  termination: Termination,
  killRequested: boolean,
): [TaskState, TaskReason | undefined] {
  // A kill the framework asked for wins over how the runtime saw the end (it may report a trap).
  if (killRequested && termination.reason !== 'lost') return ['TASK_KILLED', undefined];
  switch (termination.reason) {
    case 'exited':
      return termination.exitCode === 0
        ? ['TASK_FINISHED', undefined]
        : ['TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED'];
    case 'killed':
      return ['TASK_FAILED', 'REASON_EXECUTOR_TERMINATED'];
    case 'memory_limit':
      return ['TASK_FAILED', 'REASON_CONTAINER_LIMITATION_MEMORY'];
    case 'fuel_exhausted':
      return ['TASK_FAILED', 'REASON_FUEL_EXHAUSTED'];
    case 'timeout':
      return ['TASK_FAILED', 'REASON_TIMEOUT'];
    case 'trap':
    case 'stack_overflow':
      return ['TASK_FAILED', 'REASON_WASM_TRAP'];
    case 'launch_failed':
      return ['TASK_FAILED', 'REASON_CONTAINER_LAUNCH_FAILED'];
    case 'lost':
      return ['TASK_LOST', 'REASON_AGENT_RESTARTED'];
    default:
      return unreachable(termination.reason, 'termination reason');
  }
}
