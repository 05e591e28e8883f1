import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { I32, buildModule, op } from './wasm-builder.js';
import { exported, instantiate, instrumentOrFail } from './harness.js';

const BIG = 1_000_000n;

const growModule = buildModule({
  memory: { min: 1, max: 100, exportName: 'mem' },
  data: [{ offset: 16, bytes: [...new TextEncoder().encode('hello')] }],
  functions: [
    { params: [I32], results: [I32], body: [op.localGet, 0, op.memoryGrow, 0], exportName: 'grow' },
    {
      params: [I32],
      results: [I32],
      body: [op.localGet, 0, op.i32Load8u, 0, 0],
      exportName: 'load',
    },
  ],
});

test('a defined memory becomes an import, described with its original limits', () => {
  const { metadata } = instrumentOrFail(growModule);
  assert.equal(metadata.memories, [
    { index: 0, importName: 'memory0', initialPages: 1, maximumPages: 100, shared: false },
  ]);
});

test('memory.grow past the cap the host chose returns -1', () => {
  const run = instantiate(instrumentOrFail(growModule), BIG, { memoryPagesMax: 3 });
  const grow = exported<(pages: number) => number>(run.instance, 'grow');
  assert.is(grow(2), 1);
  assert.is(grow(1), -1);
  assert.is(run.memories['memory0']!.buffer.byteLength, 3 * 65_536);
});

test('every memory.grow result reaches the host through memory_grow_result, -1 included', () => {
  const seen: number[] = [];
  const run = instantiate(instrumentOrFail(growModule), BIG, {
    memoryPagesMax: 3,
    wasmos: {
      memory_grow_result: (result: number) => {
        seen.push(result);
        return result;
      },
    },
  });
  const grow = exported<(pages: number) => number>(run.instance, 'grow');
  assert.is(grow(2), 1);
  assert.is(grow(1), -1);
  assert.is(grow(0), 3);
  assert.equal(seen, [1, -1, 3]);
});

test('the same compiled module serves any memory cap', () => {
  const metered = instrumentOrFail(growModule);
  const small = instantiate(metered, BIG, { memoryPagesMax: 1 });
  assert.is(exported<(pages: number) => number>(small.instance, 'grow')(1), -1);
  const large = instantiate(metered, BIG, { memoryPagesMax: 50 });
  assert.is(exported<(pages: number) => number>(large.instance, 'grow')(40), 1);
});

test('data segments land in the imported memory', () => {
  const run = instantiate(instrumentOrFail(growModule), BIG);
  const bytes = new Uint8Array(run.memories['memory0']!.buffer, 16, 5);
  assert.is(new TextDecoder().decode(bytes), 'hello');
  assert.is(exported<(address: number) => number>(run.instance, 'load')(17), 'e'.charCodeAt(0));
});

test('an exported memory is still exported, and is the imported one', () => {
  const run = instantiate(instrumentOrFail(growModule), BIG);
  assert.is(run.instance.exports['mem'], run.memories['memory0']);
});

test('a defined table becomes an import and keeps its elements', () => {
  const bytes = buildModule({
    table: { min: 2, max: 2, elements: [1, 2] },
    functions: [
      {
        params: [I32],
        results: [I32],
        body: [op.localGet, 0, op.callIndirect, 1, 0],
        exportName: 'pick',
      },
      { results: [I32], body: [op.i32Const, 11] },
      { results: [I32], body: [op.i32Const, 22] },
    ],
  });
  const metered = instrumentOrFail(bytes);
  assert.equal(metered.metadata.tables, [
    { index: 0, importName: 'table0', element: 'anyfunc', initialElements: 2, maximumElements: 2 },
  ]);
  const run = instantiate(metered, BIG);
  const pick = exported<(index: number) => number>(run.instance, 'pick');
  assert.is(pick(0), 11);
  assert.is(pick(1), 22);
  assert.is(run.consumed(), 2n * (2n + 1n));
});

test('defined globals keep working after the fuel global shifts their indices', () => {
  const body = [op.globalGet, 0, op.i32Const, 1, op.i32Add, op.globalSet, 0, op.globalGet, 0];
  const bytes = buildModule({
    globals: [41],
    functions: [{ results: [I32], body, exportName: 'bump' }],
  });
  const run = instantiate(instrumentOrFail(bytes), BIG);
  assert.is(exported<() => number>(run.instance, 'bump')(), 42);
  assert.is(exported<() => number>(run.instance, 'bump')(), 43);
});

test.run();
