// How a task's end is named: pure classification of what the runner returned or threw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestExit, InstantiationFailure } from '../../wasi-executor/guest.js';
import {
  FUEL_UNITS_PER_SECOND_MAX,
  defaultTaskLimits,
  fuelForTimeoutMs,
  resolveTaskLimits,
  taskLimitsMax,
} from '../../wasi-executor/limits.js';
import { FuelExhausted } from '../../wasi-executor/worker/context.js';
import {
  verdictOfOutcome,
  verdictOfThrown,
  type VerdictFacts,
} from '../../wasi-executor/worker/verdict.js';

const calm: VerdictFacts = {
  fuelExhausted: false,
  memoryGrowFailed: false,
  memoryBytes: 1 << 19,
  memoryBytesMax: 1 << 20,
};
const atCap: VerdictFacts = { ...calm, memoryGrowFailed: true, memoryBytes: 1 << 20 };

test('a normal return and proc_exit are both exits with their code', () => {
  assert.equal(verdictOfOutcome({ kind: 'exited', exitCode: 0 }, calm).reason, 'exited');
  const exit = verdictOfThrown(new GuestExit(3), calm);
  assert.is(exit.reason, 'exited');
  assert.is(exit.exitCode, 3);
});

test('fuel exhaustion wins even when the guest caught the unwind and trapped later', () => {
  assert.is(verdictOfThrown(new FuelExhausted(), calm).reason, 'fuel_exhausted');
  const later = verdictOfThrown(new WebAssembly.RuntimeError('unreachable'), {
    ...calm,
    fuelExhausted: true,
  });
  assert.is(later.reason, 'fuel_exhausted');
});

test('a non-zero exit or a trap after a failed memory.grow is memory_limit; exit 0 is not', () => {
  assert.is(verdictOfThrown(new GuestExit(12), atCap).reason, 'memory_limit');
  assert.is(verdictOfThrown(new GuestExit(12), atCap).exitCode, 12);
  assert.is(
    verdictOfThrown(new WebAssembly.RuntimeError('unreachable'), atCap).reason,
    'memory_limit',
  );
  assert.is(verdictOfThrown(new GuestExit(0), atCap).reason, 'exited');
  assert.is(verdictOfThrown(new GuestExit(12), calm).reason, 'exited');
});

test('V8 stack exhaustion is stack_overflow, other traps keep the engine message', () => {
  assert.is(
    verdictOfThrown(new RangeError('Maximum call stack size exceeded'), calm).reason,
    'stack_overflow',
  );
  const trap = verdictOfThrown(new WebAssembly.RuntimeError('integer divide by zero'), calm);
  assert.is(trap.reason, 'trap');
  assert.match(trap.message, /integer divide by zero/);
});

test('link errors and runner-reported failures are instantiation_failed', () => {
  assert.is(
    verdictOfThrown(new WebAssembly.LinkError('bad import'), calm).reason,
    'instantiation_failed',
  );
  assert.is(
    verdictOfThrown(new InstantiationFailure('no _start'), calm).reason,
    'instantiation_failed',
  );
});

test('a handler returning bytes exits 0 with the output; its error arm exits 1', () => {
  const output = new Uint8Array([1, 2]);
  const returned = verdictOfOutcome({ kind: 'returned', output }, calm);
  assert.is(returned.exitCode, 0);
  assert.equal(returned.handlerOutput, output);
  assert.is(verdictOfOutcome({ kind: 'handler_error', message: 'nope' }, calm).exitCode, 1);
});

test('task limits default, and refuse values that are not positive integers within the maxima', () => {
  const defaults = resolveTaskLimits({});
  assert.ok(defaults.ok);
  assert.equal(defaults.ok && defaults.value, defaultTaskLimits);
  assert.not.ok(resolveTaskLimits({ fuel: 0 }).ok);
  assert.not.ok(resolveTaskLimits({ timeoutMs: 1.5 }).ok);
  assert.not.ok(resolveTaskLimits({ memoryBytesMax: 8 * 1024 ** 3 }).ok);
  const asked = resolveTaskLimits({ fuel: 7 });
  assert.is(asked.ok && asked.value.fuel, 7);
});

test('default fuel follows the timeout, so it never ends a task before the timeout would', () => {
  assert.is(defaultTaskLimits.fuel, fuelForTimeoutMs(defaultTaskLimits.timeoutMs));
  const short = resolveTaskLimits({ timeoutMs: 2_000 });
  assert.is(short.ok && short.value.fuel, 2 * FUEL_UNITS_PER_SECOND_MAX);
  const longest = resolveTaskLimits({ timeoutMs: taskLimitsMax.timeoutMs });
  assert.ok(longest.ok);
  assert.ok(longest.ok && longest.value.fuel >= 86_400 * FUEL_UNITS_PER_SECOND_MAX);
  assert.ok(longest.ok && Number.isSafeInteger(longest.value.fuel));
  const asked = resolveTaskLimits({ timeoutMs: 2_000, fuel: 9 });
  assert.is(asked.ok && asked.value.fuel, 9, 'an explicit budget is kept');
  assert.is(fuelForTimeoutMs(1), FUEL_UNITS_PER_SECOND_MAX / 1000);
});

test.run();
