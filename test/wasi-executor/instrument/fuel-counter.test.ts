/**
 * fuelCounter 'exported': the module defines and exports its counter instead
 * of importing it. The count must be the same as with the imported counter.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKernel } from '../../../bench/executor/fuel-host.js';
import {
  FUEL_GLOBAL_EXPORT,
  FUEL_GLOBAL_IMPORT,
  LIMITS_IMPORT_MODULE,
  MEMORY_GROW_RESULT_IMPORT,
  OUT_OF_FUEL_IMPORT,
  instrumentModule,
  type FuelCounter,
} from '../../../wasi-executor/instrument/index.js';
import { I32, buildModule, op, sleb } from './wasm-builder.js';

const root = new URL('../../../../', import.meta.url).pathname;

function instrument(bytes: Uint8Array, fuelCounter: FuelCounter) {
  const result = instrumentModule(bytes, { fuelCounter });
  if (!result.ok) throw new Error(`instrumentation failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

test('a C program counts the same fuel with an exported counter as with the imported one', () => {
  const bytes = readFileSync(`${root}components/built/kernels/fib.wasm`);
  const runs = (['imported', 'exported'] as const).map((fuelCounter) => {
    const metadata = instrument(bytes, fuelCounter);
    assert.is(metadata.fuelCounter, fuelCounter);
    const module = new WebAssembly.Module(metadata.bytes);
    const importsFuel = WebAssembly.Module.imports(module).some(
      (entry) => entry.module === LIMITS_IMPORT_MODULE && entry.name === FUEL_GLOBAL_IMPORT,
    );
    const exportsFuel = WebAssembly.Module.exports(module).some(
      (entry) => entry.name === FUEL_GLOBAL_EXPORT && entry.kind === 'global',
    );
    assert.is(importsFuel, fuelCounter === 'imported');
    assert.is(exportsFuel, fuelCounter === 'exported');
    return runKernel(module, ['fib', '21', '2'], {
      metadata,
      fuel: 1n << 40n,
      memoryPagesMax: 1024,
    });
  });
  const [imported, exported] = runs as [(typeof runs)[0], (typeof runs)[0]];
  assert.is(exported.exitCode, 0);
  assert.is(exported.stdout, imported.stdout);
  assert.ok(imported.fuelRemaining !== undefined && imported.fuelRemaining < 1n << 40n);
  assert.is(exported.fuelRemaining, imported.fuelRemaining);
});

test('the module keeps its own globals beside the defined counter, and stops where the imported one does', () => {
  // run(): a loop of 10 iterations that also adds 1 to the module's global each time; returns it.
  const body = [
    op.loop,
    op.void,
    op.globalGet,
    0,
    op.i32Const,
    1,
    op.i32Add,
    op.globalSet,
    0,
    op.localGet,
    0,
    op.i32Const,
    1,
    op.i32Add,
    op.localTee,
    0,
    op.i32Const,
    ...sleb(10),
    op.i32LtS,
    op.brIf,
    0,
    op.end,
    op.globalGet,
    0,
  ];
  const bytes = buildModule({
    globals: [5],
    functions: [{ locals: [I32], results: [I32], body, exportName: 'run' }],
  });
  const consumedWith = (fuelCounter: FuelCounter, budget: bigint) => {
    const metadata = instrument(bytes, fuelCounter);
    const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, budget);
    let counter: WebAssembly.Global = fuel;
    let exhausted = false;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(metadata.bytes), {
      [LIMITS_IMPORT_MODULE]: {
        [FUEL_GLOBAL_IMPORT]: fuel,
        [OUT_OF_FUEL_IMPORT]: () => {
          exhausted = true;
          counter.value = 0n;
          throw new Error('out of fuel');
        },
        [MEMORY_GROW_RESULT_IMPORT]: (result: number) => result,
      },
    });
    if (fuelCounter === 'exported') {
      const own = instance.exports[FUEL_GLOBAL_EXPORT];
      assert.ok(own instanceof WebAssembly.Global);
      own.value = budget;
      counter = own;
    }
    let result: number | undefined;
    try {
      result = (instance.exports['run'] as () => number)();
    } catch (error) {
      if (!exhausted) throw error;
    }
    return { result, consumed: budget - (counter.value as bigint), exhausted };
  };
  const imported = consumedWith('imported', 10_000n);
  const exported = consumedWith('exported', 10_000n);
  assert.is(imported.result, 15);
  assert.is(exported.result, 15);
  assert.ok(imported.consumed > 0n);
  assert.is(exported.consumed, imported.consumed);
  const exact = consumedWith('exported', imported.consumed);
  assert.is(exact.result, 15);
  assert.not.ok(exact.exhausted);
  // Tight budgets: both counters stop at the same check, with the same fuel reported.
  let exhaustedRuns = 0;
  for (let budget = imported.consumed - 40n; budget < imported.consumed; budget++) {
    const viaImport = consumedWith('imported', budget);
    const viaExport = consumedWith('exported', budget);
    assert.equal(viaExport, viaImport, `budget ${budget}`);
    if (viaExport.exhausted) exhaustedRuns++;
  }
  assert.ok(exhaustedRuns > 0, 'some tight budget runs out');
});

test('a module that already exports the counter name is refused as already instrumented', () => {
  const bytes = buildModule({
    functions: [{ body: [], exportName: FUEL_GLOBAL_EXPORT }],
  });
  const result = instrumentModule(bytes, { fuelCounter: 'exported' });
  assert.ok(!result.ok && result.error.code === 'already_instrumented', JSON.stringify(result));
  assert.ok(instrumentModule(bytes).ok, 'the imported counter has no such conflict');
});

test.run();
