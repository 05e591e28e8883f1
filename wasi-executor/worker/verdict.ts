/**
 * How a task ended, decided from what the runner returned or threw plus the
 * context's facts. Pure: the worker gathers the facts, this names the reason.
 */
import { GuestExit, InstantiationFailure, type GuestOutcome } from '../guest.js';
import type { TaskReason } from '../types.js';
import { FuelExhausted, InitialMemoryOverCap } from './context.js';

export interface Verdict {
  readonly reason: TaskReason;
  readonly exitCode: number | null;
  readonly message: string;
  readonly handlerOutput?: Uint8Array;
}

export interface VerdictFacts {
  readonly fuelExhausted: boolean;
  /** Some `memory.grow` returned -1 during the task (seen through memory_grow_result). */
  readonly memoryGrowFailed: boolean;
  /** The task's memories at the end. */
  readonly memoryBytes: number;
  readonly memoryBytesMax: number;
}

const STACK_OVERFLOW_MESSAGE = 'Maximum call stack size exceeded';

function memoryLimit(exitCode: number | null, cause: string, facts: VerdictFacts): Verdict {
  return {
    reason: 'memory_limit',
    exitCode,
    message: `${cause} after a memory.grow failed (${facts.memoryBytes} bytes in use, cap ${facts.memoryBytesMax})`,
  };
}

export function verdictOfOutcome(outcome: GuestOutcome, facts: VerdictFacts): Verdict {
  switch (outcome.kind) {
    case 'exited':
      return verdictOfExit(outcome.exitCode, facts);
    case 'returned':
      return {
        reason: 'exited',
        exitCode: 0,
        message: 'handler returned',
        handlerOutput: outcome.output,
      };
    case 'handler_error':
      return { reason: 'exited', exitCode: 1, message: `handler error: ${outcome.message}` };
  }
}

function verdictOfExit(exitCode: number, facts: VerdictFacts): Verdict {
  if (exitCode !== 0 && facts.memoryGrowFailed) {
    return memoryLimit(exitCode, `exited with ${exitCode}`, facts);
  }
  return { reason: 'exited', exitCode, message: `exited with ${exitCode}` };
}

export function verdictOfThrown(thrown: unknown, facts: VerdictFacts): Verdict {
  // Fuel first: a guest that catches the unwind and traps later still ran out of fuel.
  if (facts.fuelExhausted || thrown instanceof FuelExhausted) {
    return { reason: 'fuel_exhausted', exitCode: null, message: 'fuel exhausted' };
  }
  if (thrown instanceof GuestExit) return verdictOfExit(thrown.exitCode, facts);
  if (thrown instanceof InitialMemoryOverCap) {
    return { reason: 'memory_limit', exitCode: null, message: thrown.message };
  }
  if (thrown instanceof InstantiationFailure || thrown instanceof WebAssembly.LinkError) {
    return { reason: 'instantiation_failed', exitCode: null, message: thrown.message };
  }
  if (thrown instanceof RangeError && thrown.message.includes(STACK_OVERFLOW_MESSAGE)) {
    return {
      reason: 'stack_overflow',
      exitCode: null,
      message: 'stack overflow: ' + thrown.message,
    };
  }
  if (thrown instanceof WebAssembly.RuntimeError) {
    if (facts.memoryGrowFailed) return memoryLimit(null, `trap (${thrown.message})`, facts);
    return { reason: 'trap', exitCode: null, message: `wasm trap: ${thrown.message}` };
  }
  const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
  return { reason: 'trap', exitCode: null, message: `host error: ${text}` };
}
