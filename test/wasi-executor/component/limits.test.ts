import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ComponentArtifact } from '../../../wasi-executor/component/run.js';
import { FuelExhausted } from '../../../wasi-executor/worker/context.js';
import { builtComponent, metered, prepared, run } from './support.js';

const MiB = 1024 * 1024;
let probe: ComponentArtifact;

test.before(async () => {
  probe = await prepared(builtComponent('p2/probe.wasm'), metered);
});

test('every core module of a prepared component is metered', () => {
  assert.ok(Object.values(probe.limits).every((plan) => plan.metered));
});

test('an endless loop in a component runs out of fuel, all of it accounted', async () => {
  const result = await run(probe, { args: ['spin'] }, { fuel: 5_000_000 });
  assert.instance(result.thrown, FuelExhausted);
  assert.ok(result.context.fuelExhausted);
  assert.is(result.context.fuelConsumed(), 5_000_000);
});

test('a short command reports the fuel it consumed', async () => {
  const result = await run(probe, { args: ['args'] });
  assert.equal(result.outcome, { kind: 'exited', exitCode: 0 });
  assert.ok(result.context.fuelConsumed() > 0);
});

test('growing memory past the cap fails, memory stays under the cap, the failed grow is seen', async () => {
  // malloc fails inside the cap; the preview1 adapter then cannot allocate
  // for printing the message and traps: the worker's verdict is memory_limit.
  const result = await run(probe, { args: ['grow'] }, { memoryBytesMax: 8 * MiB });
  assert.instance(result.thrown, WebAssembly.RuntimeError);
  assert.ok(result.context.memoryBytes() <= 8 * MiB);
  assert.ok(result.context.memoryGrowFailed);
});

test.run();
