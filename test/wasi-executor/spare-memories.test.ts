// A worker hands a finished preview1 task's memory to its next task only zeroed, only if the
// task never grew it, only to a module declaring the same shape, and keeps a bounded number.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultTaskLimits, WASM_PAGE_BYTES } from '../../wasi-executor/limits.js';
import { createTaskContext } from '../../wasi-executor/worker/context.js';
import { SPARE_MEMORIES_MAX, SpareMemories } from '../../wasi-executor/worker/spare-memories.js';
import { Executor } from '../../wasi-executor/executor.js';
import { bareGuestSpec } from '../../wasi-executor/guest.js';
import { prepareProgram, text } from './programs.js';

const spec = bareGuestSpec('probe');

const plan = {
  memories: [{ importName: 'memory0', initialPages: 2, maximumPages: 100 }],
  tables: [],
  metered: true,
};

function taskMemory(spares: SpareMemories): {
  memory: WebAssembly.Memory;
  release: () => void;
} {
  const context = createTaskContext(
    spec,
    defaultTaskLimits,
    new Float64Array(2),
    () => undefined,
    undefined,
    spares,
  );
  const memory = context.limitImports(plan)['memory0'];
  assert.instance(memory, WebAssembly.Memory);
  return { memory: memory as WebAssembly.Memory, release: () => context.releaseMemories() };
}

test("the next task gets the previous task's memory back all zeros, at its declared size", () => {
  const spares = new SpareMemories();
  const first = taskMemory(spares);
  new Uint8Array(first.memory.buffer).fill(0xab);
  first.release();
  assert.is(spares.size, 1);
  const second = taskMemory(spares);
  assert.is(second.memory, first.memory, 'reused');
  assert.is(second.memory.buffer.byteLength, 2 * WASM_PAGE_BYTES);
  assert.ok(
    new Uint8Array(second.memory.buffer).every((byte) => byte === 0),
    'nothing of the first task is visible',
  );
});

test('a memory the task grew, or of another shape, is not handed on', () => {
  const spares = new SpareMemories();
  const grown = taskMemory(spares);
  grown.memory.grow(1);
  grown.release();
  assert.is(spares.size, 0, 'grown: dropped');
  const kept = taskMemory(spares);
  kept.release();
  assert.is(spares.size, 1);
  assert.is(spares.take(2, 99), undefined, 'another maximum');
  assert.is(spares.take(3, 100), undefined, 'another initial size');
  assert.instance(spares.take(2, 100), WebAssembly.Memory);
});

test('a worker keeps at most SPARE_MEMORIES_MAX spares; without spares every memory is fresh', () => {
  const spares = new SpareMemories();
  const memories = Array.from({ length: SPARE_MEMORIES_MAX + 3 }, () => taskMemory(spares));
  for (const memory of memories) memory.release();
  assert.is(spares.size, SPARE_MEMORIES_MAX);
  const context = createTaskContext(spec, defaultTaskLimits, new Float64Array(2), () => undefined);
  const first = context.limitImports(plan)['memory0'];
  context.releaseMemories();
  assert.is.not(context.limitImports(plan)['memory0'], first);
});

test('tasks that trap, run out of fuel or exit on one worker leave the next task a clean start', async () => {
  const executor = new Executor({ limits: { workersMax: 1 } });
  try {
    const hello = await prepareProgram(executor, 'hello');
    const argsEcho = await prepareProgram(executor, 'args-echo');
    const bomb = await prepareProgram(executor, 'memory-bomb');
    for (let round = 0; round < 3; round++) {
      const exhausted = await executor.run(hello, { limits: { fuel: 10 } });
      assert.ok(exhausted.ok);
      assert.is(exhausted.value.reason, 'fuel_exhausted');
      const bombed = await executor.run(bomb, { limits: { memoryBytesMax: 4 * 1024 * 1024 } });
      assert.ok(bombed.ok);
      assert.is(bombed.value.reason, 'memory_limit', bombed.value.message);
      const echoed = await executor.run(argsEcho, { args: [`round ${round}`] });
      assert.ok(echoed.ok);
      assert.is(text(echoed.value.stdout), `round ${round}\n`);
      const greeted = await executor.run(hello, {});
      assert.ok(greeted.ok);
      assert.is(text(greeted.value.stdout), 'hello from wasm\n');
      assert.ok(greeted.value.peakMemoryBytes > 0);
    }
  } finally {
    await executor.close();
  }
});

test.run();
