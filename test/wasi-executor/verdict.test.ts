// How a task's end is named: pure classification of what the runner returned or threw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestExit, InstantiationFailure } from '../../wasi-executor/guest.js';
import { resolveTaskLimits, defaultTaskLimits } from '../../wasi-executor/limits.js';
import { FuelExhausted } from '../../wasi-executor/worker/context.js';
import {
  verdictOfOutcome,
  verdictOfThrown,
  type VerdictFacts,
} from '../../wasi-executor/worker/verdict.js';

const calm: VerdictFacts = { fuelExhausted: false, memoryAtCap: false, memoryBytesMax: 1 << 20 };
const atCap: VerdictFacts = { ...calm, memoryAtCap: true };

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

test('a non-zero exit or a trap with memory at its cap is memory_limit; exit 0 is not', () => {
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

test.run();
