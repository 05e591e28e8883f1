// Hostile programs end with their expected reason within their limits, and the executor
// then serves the next task normally.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import type { TaskResult } from '../../wasi-executor/types.js';
import { prepareProgram, runProgram, text } from './programs.js';

const executor = new Executor({ limits: { workersMax: 1 } });
const MiB = 1024 * 1024;

async function assertServesNextTask(): Promise<void> {
  const hello = await runProgram(executor, 'hello');
  assert.is(hello.reason, 'exited');
  assert.is(hello.exitCode, 0);
  assert.is(text(hello.stdout), 'hello from wasm\n');
}

test('an infinite loop runs out of fuel and reports the whole budget consumed', async () => {
  const result = await runProgram(executor, 'infinite-loop', {
    limits: { fuel: 5_000_000, timeoutMs: 20_000 },
  });
  assert.is(result.reason, 'fuel_exhausted');
  assert.is(result.exitCode, null);
  assert.is(result.fuelConsumed, 5_000_000);
  await assertServesNextTask();
});

test('an infinite loop with fuel to spare is stopped by the wall-clock timeout', async () => {
  const result = await runProgram(executor, 'infinite-loop', {
    limits: { timeoutMs: 200, fuel: 1e15 },
  });
  assert.is(result.reason, 'timeout');
  assert.is(result.exitCode, null);
  assert.ok(result.peakMemoryBytes > 0, 'memory as of instantiation is reported');
  await assertServesNextTask();
});

test('a timed-out loop that never calls the host still reports the fuel of its slices', async () => {
  // Small slices so the first one ends within microseconds of the loop starting.
  const sliced = new Executor({ limits: { workersMax: 1, fuelSliceUnits: 1_000_000 } });
  const budget = 1e15;
  const run = await sliced.run(await prepareProgram(sliced, 'infinite-loop'), {
    limits: { timeoutMs: 3_000, fuel: budget },
  });
  await sliced.close();
  assert.ok(run.ok);
  assert.is(run.value.reason, 'timeout');
  assert.match(run.value.message, /timed out after 3000 ms/);
  assert.ok(run.value.fuelConsumed >= 1_000_000, `fuel ${run.value.fuelConsumed}`);
  assert.ok(run.value.fuelConsumed < budget);
});

test('a memory bomb ends with memory_limit and never grows past the cap', async () => {
  const result = await runProgram(executor, 'memory-bomb', {
    limits: { memoryBytesMax: 16 * MiB },
  });
  assert.is(result.reason, 'memory_limit', result.message);
  assert.is(result.exitCode, 12);
  assert.ok(result.peakMemoryBytes <= 16 * MiB, `peak ${result.peakMemoryBytes}`);
  assert.ok(result.peakMemoryBytes > 8 * MiB, `peak ${result.peakMemoryBytes}`);
  assert.match(text(result.stderr), /malloc failed after \d+ MiB/);
  assert.match(result.message, /after a memory\.grow failed/);
  await assertServesNextTask();
});

test('unbounded recursion ends with stack_overflow', async () => {
  const result = await runProgram(executor, 'deep-recursion');
  assert.is(result.reason, 'stack_overflow', result.message);
  assert.is(result.exitCode, null);
  await assertServesNextTask();
});

test('an output flood is cut at the stdout cap and the result says truncated', async () => {
  const result = await runProgram(executor, 'output-flood', {
    limits: { stdoutBytesMax: 4096, fuel: 20_000_000 },
  });
  assert.is(result.reason, 'fuel_exhausted');
  assert.is(result.stdout.length, 4096);
  assert.ok(result.stdoutTruncated);
  assert.not.ok(result.stderrTruncated);
  assert.ok(text(result.stdout).startsWith('flood line 0: the quick brown fox'));
  await assertServesNextTask();
});

test('an output flood stopped by the timeout still reports its truncation', async () => {
  const result = await runProgram(executor, 'output-flood', {
    limits: { stdoutBytesMax: 1000, timeoutMs: 300, fuel: 1e15 },
  });
  assert.is(result.reason, 'timeout');
  assert.is(result.stdout.length, 1000);
  assert.ok(result.stdoutTruncated);
});

test('warm starts every worker ahead of the first task', async () => {
  const pooled = new Executor({ limits: { workersMax: 2 } });
  assert.is(pooled.workerCount, 0);
  await pooled.warm();
  assert.is(pooled.workerCount, 2);
  const hello = await runProgram(pooled, 'hello');
  assert.is(text(hello.stdout), 'hello from wasm\n');
  assert.is(pooled.workerCount, 2);
  await pooled.close();
});

test('a task killed through its AbortSignal ends with reason killed', async () => {
  const prepared = await prepareProgram(executor, 'infinite-loop');
  const controller = new AbortController();
  const running = executor.run(
    prepared,
    { limits: { timeoutMs: 20_000, fuel: 1e15 } },
    { signal: controller.signal },
  );
  setTimeout(() => controller.abort(), 100);
  const run = await running;
  assert.ok(run.ok);
  assert.is(run.value.reason, 'killed');
  await assertServesNextTask();
});

test('a queued task killed before it starts leaves the queue at once', async () => {
  const prepared = await prepareProgram(executor, 'infinite-loop');
  const running = executor.run(prepared, { limits: { timeoutMs: 500, fuel: 1e15 } });
  const controller = new AbortController();
  const queued = executor.run(prepared, {}, { signal: controller.signal });
  controller.abort();
  const killed = await queued;
  assert.ok(killed.ok);
  assert.is(killed.ok && killed.value.reason, 'killed');
  assert.match(killed.ok ? killed.value.message : '', /killed while waiting for a worker/);
  assert.is(killed.ok && killed.value.durationMs, 0);
  const first = await running;
  assert.is(first.ok && first.value.reason, 'timeout');
});

test('output is streamed to the callbacks as the guest writes it', async () => {
  const prepared = await prepareProgram(executor, 'memory-bomb');
  const streamed: string[] = [];
  const run = await executor.run(
    prepared,
    { limits: { memoryBytesMax: 4 * MiB } },
    { onStderr: (bytes) => streamed.push(text(bytes)) },
  );
  assert.ok(run.ok);
  assert.is(streamed.join(''), text(run.value.stderr));
  assert.ok(streamed.length > 0);
});

test('queued tasks beyond the queue bound are refused with queue_full', async () => {
  const small = new Executor({ limits: { workersMax: 1, queueLengthMax: 1 } });
  const prepared = await prepareProgram(small, 'infinite-loop');
  // A first task warms the one worker, so the next is taken at once and one more fills the queue.
  const warm = await small.run(await prepareProgram(small, 'hello'), {});
  assert.ok(warm.ok);
  const spec = { limits: { timeoutMs: 300, fuel: 1e15 } };
  const first = small.run(prepared, spec);
  const second = small.run(prepared, spec);
  const third = await small.run(prepared, spec);
  assert.not.ok(third.ok);
  assert.is(third.ok ? '' : third.error.code, 'queue_full');
  const settled: TaskResult[] = [];
  for (const run of await Promise.all([first, second])) if (run.ok) settled.push(run.value);
  assert.equal(
    settled.map((result) => result.reason),
    ['timeout', 'timeout'],
  );
  await small.close();
});

test('a task killed while running says so, with how long it ran', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-kill-'));
  writeFileSync(join(dir, 'held.txt'), 'x');
  const controller = new AbortController();
  const run = await executor.run(
    await prepareProgram(executor, 'hold-file'),
    {
      args: ['/data/held.txt'],
      preopens: [{ hostPath: dir, guestPath: '/data', writable: false }],
      limits: { timeoutMs: 60_000, fuel: 1e15 },
    },
    // It printed: it is running now.
    { signal: controller.signal, onStdout: () => controller.abort() },
  );
  rmSync(dir, { recursive: true, force: true });
  assert.ok(run.ok);
  assert.is(run.value.reason, 'killed');
  assert.match(run.value.message, /^killed while running, after \d+ ms$/);
  assert.ok(run.value.fuelConsumed > 0, 'fuel up to its last host call is reported');
  await assertServesNextTask();
});

test('files held open by terminated tasks are closed: the process does not leak descriptors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-hold-'));
  writeFileSync(join(dir, 'held.txt'), 'x');
  const spec = {
    args: ['/data/held.txt'],
    preopens: [{ hostPath: dir, guestPath: '/data', writable: false }],
    limits: { timeoutMs: 300, fuel: 1e15 },
  };
  await runProgram(executor, 'hold-file', spec);
  const before = readdirSync('/proc/self/fd').length;
  for (let round = 0; round < 5; round++) {
    const result = await runProgram(executor, 'hold-file', spec);
    assert.is(result.reason, 'timeout');
    assert.is(text(result.stdout), 'holding\n');
  }
  await assertServesNextTask();
  // The descriptors are closed once each old worker has fully stopped.
  let after = readdirSync('/proc/self/fd').length;
  for (let attempt = 0; attempt < 50 && after > before; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = readdirSync('/proc/self/fd').length;
  }
  assert.ok(after <= before, `descriptors before ${before}, after ${after}`);
  rmSync(dir, { recursive: true, force: true });
});

test.after(() => executor.close());

test.run();
