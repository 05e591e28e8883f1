// Fuel handed out in tiny slices (a refill every few hundred instructions) changes nothing a
// task can see: the same output and exactly the same fuel as with the default slice, and the
// same exhaustion point. This drives every refill path of the instrumenter on real programs.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import type { TaskResult, TaskSpec } from '../../wasi-executor/types.js';
import { programBytes, text } from './programs.js';

const TINY_SLICE = 97;
const whole = new Executor({ limits: { workersMax: 1 } });
const sliced = new Executor({ limits: { workersMax: 1, fuelSliceUnits: TINY_SLICE } });

const built = (path: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../components/built/${path}`, import.meta.url)));

async function runOn(executor: Executor, bytes: Uint8Array, spec: TaskSpec): Promise<TaskResult> {
  const prepared = await executor.prepare(bytes);
  if (!prepared.ok) throw new Error(prepared.error.message);
  const run = await executor.run(prepared.value, spec);
  if (!run.ok) throw new Error(run.error.message);
  return run.value;
}

const cases: { name: string; bytes: Uint8Array; spec: TaskSpec; stdout: RegExp }[] = [
  { name: 'hello', bytes: programBytes('hello'), spec: {}, stdout: /^hello from wasm\n$/ },
  {
    name: 'args-echo',
    bytes: programBytes('args-echo'),
    spec: { args: ['a', 'bc'] },
    stdout: /a/,
  },
  {
    name: 'sieve kernel',
    bytes: built('kernels/sieve.wasm'),
    spec: { args: ['20000', '2'] },
    stdout: /^sieve limit=20000 repeats=2 primes=\d+/,
  },
  {
    name: 'fib kernel',
    bytes: built('kernels/fib.wasm'),
    spec: { args: ['16', '2'] },
    stdout: /^fib n=16 repeats=2 value=\d+/,
  },
  {
    name: 'matmul kernel',
    bytes: built('kernels/matmul.wasm'),
    spec: { args: ['24', '1'] },
    stdout: /^matmul/,
  },
  {
    name: 'component hello',
    bytes: built('p2/hello.wasm'),
    spec: {},
    stdout: /^hello from a component\n$/,
  },
];

for (const { name, bytes, spec, stdout } of cases) {
  test(`${name}: the same output and fuel with slices of ${TINY_SLICE}`, async () => {
    const reference = await runOn(whole, bytes, spec);
    assert.is(reference.reason, 'exited', reference.message);
    assert.is(reference.exitCode, 0);
    assert.match(text(reference.stdout), stdout);
    assert.ok(reference.fuelConsumed > 5 * TINY_SLICE, `fuel ${reference.fuelConsumed}`);
    const small = await runOn(sliced, bytes, spec);
    assert.is(small.reason, 'exited', small.message);
    assert.is(text(small.stdout), text(reference.stdout));
    assert.is(small.fuelConsumed, reference.fuelConsumed);
    // Half the fuel it needs: stopped at the same check in both, with the whole budget used.
    const half = { ...spec, limits: { fuel: Math.floor(reference.fuelConsumed / 2) } };
    for (const executor of [whole, sliced]) {
      const short = await runOn(executor, bytes, half);
      assert.is(short.reason, 'fuel_exhausted', short.message);
      assert.is(short.fuelConsumed, half.limits.fuel);
      assert.is(text(short.stdout), '');
    }
  });
}

test.after(async () => {
  await whole.close();
  await sliced.close();
});

test.run();
