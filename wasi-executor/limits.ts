/**
 * Every limit of the executor, named and defaulted in one place, and checked
 * at the edge (resolveTaskLimits, resolveExecutorOptions) before any work.
 */
import { assert } from '../lib/assert.js';
import { err, ok, type Result } from '../lib/result.js';
import type { TaskLimits } from './types.js';

const MiB = 1024 * 1024;
const WASM_PAGE_BYTES = 65_536;

/**
 * An upper bound on the fuel units one task can burn per second of wall
 * clock. Optimized tight loops measured 1–3e10 units/s here (docs/FUEL.md);
 * 1e11 leaves 3x or more for faster machines. The default budget is derived
 * from it so that default fuel never ends a task before its timeout would.
 */
export const FUEL_UNITS_PER_SECOND_MAX = 100_000_000_000;

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The fuel a task can burn in `timeoutMs` at FUEL_UNITS_PER_SECOND_MAX:
 * the budget that leaves the wall clock to stop a runaway task while fuel
 * still measures it. Within 2^53−1 for every allowed timeout (24 h is 8.64e15).
 */
export function fuelForTimeoutMs(timeoutMs: number): number {
  const units = Math.ceil((timeoutMs / 1000) * FUEL_UNITS_PER_SECOND_MAX);
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, units));
}

export const defaultTaskLimits: TaskLimits = {
  // Follows the timeout: a spec that sets only timeoutMs gets fuelForTimeoutMs(timeoutMs).
  fuel: fuelForTimeoutMs(DEFAULT_TIMEOUT_MS),
  memoryBytesMax: 256 * MiB,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  stdoutBytesMax: 1 * MiB,
  stderrBytesMax: 1 * MiB,
};

/** The largest values a task may ask for; beyond these a spec is refused. */
export const taskLimitsMax: TaskLimits = {
  fuel: Number.MAX_SAFE_INTEGER,
  // wasm32 addresses at most 4 GiB per memory.
  memoryBytesMax: 4096 * MiB,
  timeoutMs: 24 * 3_600_000,
  stdoutBytesMax: 256 * MiB,
  stderrBytesMax: 256 * MiB,
};

export interface ExecutorLimits {
  /** Tasks running at once: one worker per task. */
  readonly workersMax: number;
  /** Tasks waiting for a worker; past it `run` returns queue_full. */
  readonly queueLengthMax: number;
  /** V8 heap of a worker (JS objects only: wasm memories are outside it). */
  readonly workerHeapMb: number;
  /** Native stack of a worker; deep guest recursion ends in stack_overflow. */
  readonly workerStackMb: number;
  /** Largest .wasm accepted by prepare. */
  readonly moduleBytesMax: number;
  /** Prepared artifacts kept in memory (LRU). */
  readonly preparedEntriesMax: number;
  /** stdin and handler input given to one task. */
  readonly inputBytesMax: number;
  /** args + env of one task, as the guest would store them. */
  readonly argsEnvBytesMax: number;
  /**
   * Fuel handed to a running guest at a time (context.ts): each slice ends in
   * a host call that records progress, so a task killed or timed out while
   * never calling the host still reports its fuel to within one slice.
   */
  readonly fuelSliceUnits: number;
  /**
   * V8 heap of the prepare worker (prepare-worker/client.ts), where jco and
   * the instrumenter run; past it that prepare ends in prepare_failed.
   */
  readonly prepareHeapMb: number;
  /** Wall clock of one prepare in the prepare worker; past it the worker is terminated. */
  readonly prepareTimeoutMs: number;
}

export const defaultExecutorLimits: ExecutorLimits = {
  workersMax: 2,
  queueLengthMax: 1024,
  workerHeapMb: 128,
  workerStackMb: 4,
  moduleBytesMax: 64 * MiB,
  preparedEntriesMax: 64,
  inputBytesMax: 64 * MiB,
  argsEnvBytesMax: 1 * MiB,
  // 1–10 ms of a tight loop here: progress is fresh, and a host call per slice costs nothing.
  fuelSliceUnits: 100_000_000,
  // A cold jco load and a 64 MiB component's transpile stay far below both on a loaded machine.
  prepareHeapMb: 512,
  prepareTimeoutMs: 120_000,
};

assert(defaultTaskLimits.memoryBytesMax % WASM_PAGE_BYTES === 0, 'memory cap is whole pages');
assert(
  fuelForTimeoutMs(taskLimitsMax.timeoutMs) < Number.MAX_SAFE_INTEGER,
  'the longest timeout gets a fuel budget that follows it',
);
for (const key of Object.keys(defaultTaskLimits) as (keyof TaskLimits)[]) {
  assert(defaultTaskLimits[key] <= taskLimitsMax[key], `default ${key} within its maximum`);
}

/**
 * Fills in defaults and refuses values that are not positive integers within
 * the maxima. Fuel left out is fuelForTimeoutMs of the task's timeout.
 */
export function resolveTaskLimits(asked: Partial<TaskLimits> = {}): Result<TaskLimits, string> {
  const limits = { ...defaultTaskLimits };
  for (const key of Object.keys(defaultTaskLimits) as (keyof TaskLimits)[]) {
    const value = asked[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      return err(`limit ${key} must be a positive integer, got ${String(value)}`);
    }
    if (value > taskLimitsMax[key]) {
      return err(`limit ${key} is ${value}, above its maximum ${taskLimitsMax[key]}`);
    }
    limits[key] = value;
  }
  if (asked.fuel === undefined) limits.fuel = fuelForTimeoutMs(limits.timeoutMs);
  return ok(limits);
}

export function resolveExecutorLimits(
  asked: Partial<ExecutorLimits> = {},
): Result<ExecutorLimits, string> {
  const limits = { ...defaultExecutorLimits, ...asked };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      return err(`executor limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return ok(limits);
}

/** Pages a memory may reach under a byte cap (wasm counts memories in 64 KiB pages). */
export function pagesUnderCap(memoryBytesMax: number): number {
  return Math.min(65_536, Math.floor(memoryBytesMax / WASM_PAGE_BYTES));
}

export { WASM_PAGE_BYTES };
