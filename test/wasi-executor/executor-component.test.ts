// A component goes through the same Executor as a preview1 module: prepare detects it, the
// worker pool runs it on the component host, and the result carries the same figures.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import { text } from './programs.js';
import { programBytes } from '../support/programs.js';

const executor = new Executor({ limits: { workersMax: 1 } });
const hello = new Uint8Array(
  readFileSync(new URL('../../../components/built/p2/hello.wasm', import.meta.url)),
);

test('a wasi:cli/command component is detected, prepared and run by the worker pool', async () => {
  const prepared = await executor.prepare(hello);
  assert.ok(prepared.ok, prepared.ok ? '' : prepared.error.message);
  if (!prepared.ok) return;
  assert.is(prepared.value.kind, 'component');
  assert.is(prepared.value.artifact.kind, 'component');
  const run = await executor.run(prepared.value, { env: { A: '1' } });
  assert.ok(run.ok);
  if (!run.ok) return;
  assert.is(run.value.reason, 'exited');
  assert.is(run.value.exitCode, 0);
  assert.is(text(run.value.stdout), 'hello from a component\n');
  assert.ok(run.value.fuelConsumed > 0, 'fuel is metered in components too');
  assert.ok(run.value.peakMemoryBytes > 0);
});

test('a component and a preview1 module share one warm worker in turn', async () => {
  const module = await executor.prepare(programBytes('hello'));
  const component = await executor.prepare(hello);
  assert.ok(module.ok && component.ok);
  if (!module.ok || !component.ok) return;
  for (const prepared of [module.value, component.value, module.value]) {
    const run = await executor.run(prepared, {});
    assert.is(run.ok && run.value.exitCode, 0);
  }
  assert.is(executor.workerCount, 1);
});

test('warming the component tools runs the pipeline once and caches nothing', async () => {
  const fresh = new Executor({ limits: { workersMax: 1 } });
  await fresh.warm({ componentTools: true });
  assert.is(fresh.workerCount, 1, 'the pool is started too');
  const prepared = await fresh.prepare(hello);
  assert.ok(prepared.ok);
  assert.is(prepared.ok && prepared.value.source, 'compiled', 'the warm-up left no cache entry');
  if (prepared.ok) {
    const run = await fresh.run(prepared.value, {});
    assert.is(run.ok && text(run.value.stdout), 'hello from a component\n');
  }
  await fresh.close();
});

test.after(() => executor.close());

test.run();
