// Preparing runs in the prepare worker: the caller's event loop keeps running timers while
// jco loads and transpiles, and a worker that dies while preparing fails that prepare only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import { builtComponent } from './component/support.js';
import { programBytes, text } from './programs.js';

/** What the event loop did while `work` ran: how long it took, and its longest stall. */
async function loopDuring<T>(
  work: () => Promise<T>,
): Promise<{ value: T; durationMs: number; longestGapMs: number; ticks: number }> {
  let last = performance.now();
  let longestGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks++;
  }, 5);
  const startedMs = performance.now();
  const value = await work();
  const endedMs = performance.now();
  clearInterval(timer);
  longestGapMs = Math.max(longestGapMs, endedMs - last);
  return { value, durationMs: endedMs - startedMs, longestGapMs, ticks };
}

// On this thread, loading jco alone blocked the loop in one stretch of most of the warm-up
// (1.6-2.6 s of 2-3.5 s); in the worker no stretch comes near half of it, however loaded
// the machine is, since this thread has nothing to do but wait.
test('warming the component tools leaves the event loop running', async () => {
  const executor = new Executor({ limits: { workersMax: 1 } });
  try {
    const warm = await loopDuring(() => executor.warm({ componentTools: true }));
    assert.ok(warm.ticks >= 3, `timers ran ${warm.ticks} times during warm()`);
    assert.ok(
      warm.longestGapMs < warm.durationMs / 2,
      `longest stall ${warm.longestGapMs.toFixed(0)} ms of ${warm.durationMs.toFixed(0)} ms`,
    );
  } finally {
    await executor.close();
  }
});

test('a cold component prepare (jco loaded, transpiled, instrumented) leaves the loop running', async () => {
  const executor = new Executor({ limits: { workersMax: 1 } });
  try {
    const prepare = await loopDuring(() => executor.prepare(builtComponent('p2/textkit.wasm')));
    if (!prepare.value.ok) throw prepare.value.error;
    assert.ok(prepare.ticks >= 3, `timers ran ${prepare.ticks} times during prepare`);
    assert.ok(
      prepare.longestGapMs < prepare.durationMs / 2,
      `longest stall ${prepare.longestGapMs.toFixed(0)} ms of ${prepare.durationMs.toFixed(0)} ms`,
    );
    const run = await executor.run(prepare.value.value, { args: ['--help'] });
    assert.ok(run.ok && run.value.reason === 'exited', 'the prepared component runs');
  } finally {
    await executor.close();
  }
});

// A real crash: a 7 MiB heap is below what loading jco and transpiling textkit need (it fails
// at 8 MiB, works at 12) and above what a worker instrumenting a small core module needs (it
// fails at 5 MiB with coverage on, works at 6), so the first prepare kills the worker by
// running out of heap and the second needs a fresh one.
test('a prepare worker dying mid-prepare fails that prepare only; the next one works', async () => {
  const executor = new Executor({ limits: { workersMax: 1, prepareHeapMb: 7 } });
  try {
    const crashed = await executor.prepare(builtComponent('p2/textkit.wasm'));
    assert.not.ok(crashed.ok, 'the prepare that crashed the worker is refused');
    if (!crashed.ok) {
      assert.is(crashed.error.code, 'prepare_failed');
      assert.match(crashed.error.message, /memory limit/);
    }
    const next = await executor.prepare(programBytes('hello'));
    assert.ok(next.ok, next.ok ? '' : `the next prepare works: ${next.error.message}`);
    if (!next.ok) return;
    const run = await executor.run(next.value, {});
    assert.ok(run.ok && run.value.reason === 'exited', 'and its module runs');
    if (run.ok) assert.match(text(run.value.stdout), /hello/i);
    const again = await executor.prepare(builtComponent('p2/textkit.wasm'));
    assert.ok(!again.ok && again.error.code === 'prepare_failed', 'a failure is not cached');
  } finally {
    await executor.close();
  }
});

test('a prepare past prepareTimeoutMs ends in prepare_failed naming the limit', async () => {
  // Starting a worker and loading jco take far longer than 1 ms on any machine.
  const executor = new Executor({ limits: { prepareTimeoutMs: 1 } });
  try {
    const prepared = await executor.prepare(builtComponent('p2/hello.wasm'));
    assert.ok(!prepared.ok && prepared.error.code === 'prepare_failed', 'refused');
    if (!prepared.ok) assert.match(prepared.error.message, /prepareTimeoutMs \(1 ms\)/);
  } finally {
    await executor.close();
  }
});

test('bad input keeps its typed reasons through the worker', async () => {
  const executor = new Executor({ limits: { workersMax: 1 } });
  try {
    const core = programBytes('hello');
    const truncated = await executor.prepare(core.subarray(0, core.length - 100));
    assert.ok(!truncated.ok && truncated.error.code === 'invalid_wasm', 'truncated core module');
    if (!truncated.ok) assert.match(truncated.error.message, /^invalid module: /);
    const component = builtComponent('p2/hello.wasm');
    const broken = component.slice(0, component.length - 100);
    const refused = await executor.prepare(broken);
    assert.ok(!refused.ok && refused.error.code === 'invalid_wasm', 'truncated component');
    if (!refused.ok) assert.match(refused.error.message, /^invalid component: /);
    const fine = await executor.prepare(component);
    assert.ok(fine.ok, 'the worker still prepares after refusing');
  } finally {
    await executor.close();
  }
});

test.run();
