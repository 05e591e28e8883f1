import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { instrumentModule, type InstrumentError } from '../../../wasi-executor/instrument/index.js';
import { runKernel } from '../../../bench/executor/fuel-host.js';
import { instrumentOrFail } from './harness.js';
import { buildModule, op } from './wasm-builder.js';

const root = new URL('../../../../', import.meta.url).pathname;
const TESTSUITE = '/work/shared/wasi-testsuite';
const ERROR_CODES = ['malformed', 'unsupported', 'already_instrumented', 'too_large'];

function wasmFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return wasmFiles(path);
    return name.endsWith('.wasm') ? [path] : [];
  });
}

const isComponent = (bytes: Uint8Array): boolean => bytes[4] === 0x0d;
const kernel = (name: string): Uint8Array =>
  readFileSync(join(root, 'components/built/kernels', `${name}.wasm`));

function isTypedError(error: InstrumentError): boolean {
  return (
    ERROR_CODES.includes(error.code) &&
    typeof error.section === 'string' &&
    Number.isInteger(error.offset) &&
    error.message.length > 0
  );
}

/** Instruments without throwing; a success must be a module the engine accepts or rejects cleanly. */
function neverThrows(bytes: Uint8Array): void {
  const result = instrumentModule(bytes);
  if (!result.ok) {
    assert.ok(isTypedError(result.error), JSON.stringify(result.error));
    return;
  }
  try {
    new WebAssembly.Module(result.value.bytes);
  } catch (error) {
    assert.instance(error, WebAssembly.CompileError);
  }
}

test('every core module of the WASI testsuite and components/built instruments into a valid module', () => {
  const files = [...wasmFiles(TESTSUITE), ...wasmFiles(join(root, 'components/built'))];
  assert.ok(files.length >= 4, 'found modules to try');
  for (const file of files) {
    const bytes = readFileSync(file);
    const result = instrumentModule(bytes);
    if (isComponent(bytes)) {
      assert.is(result.ok ? 'ok' : result.error.code, 'unsupported', `${file} is a component`);
      continue;
    }
    if (!result.ok) assert.unreachable(`${file}: ${JSON.stringify(result.error)}`);
    else new WebAssembly.Module(result.value.bytes);
  }
});

test('a kernel prints the same output instrumented, and its fuel count is deterministic', () => {
  const bytes = kernel('fib');
  const plain = runKernel(new WebAssembly.Module(bytes), ['fib', '20', '1']);
  const metered = instrumentOrFail(bytes);
  const limits = { metadata: metered.metadata, fuel: 10n ** 12n, memoryPagesMax: 1024 };
  const first = runKernel(metered.module, ['fib', '20', '1'], limits);
  const second = runKernel(metered.module, ['fib', '20', '1'], limits);
  assert.is(first.stdout, plain.stdout);
  assert.is(first.exitCode, 0);
  assert.is(first.fuelRemaining, second.fuelRemaining);
  assert.ok(first.fuelRemaining! < 10n ** 12n);
});

test('the fuel count of a real program does not depend on the strategy or the passing', () => {
  for (const name of ['sieve', 'fib']) {
    const args = name === 'sieve' ? ['sieve', '20000', '2'] : ['fib', '15', '2'];
    const counts = (['auto', 'local', 'global'] as const).map((strategy) => {
      const metered = instrumentOrFail(kernel(name), {
        fuelStrategy: strategy,
        fuelPassing: 'global',
      });
      const limits = { metadata: metered.metadata, fuel: 10n ** 12n, memoryPagesMax: 1024 };
      return runKernel(metered.module, args, limits).fuelRemaining;
    });
    const metered = instrumentOrFail(kernel(name), { fuelPassing: 'arguments' });
    assert.is(metered.metadata.fuelPassing, 'arguments');
    const limits = { metadata: metered.metadata, fuel: 10n ** 12n, memoryPagesMax: 1024 };
    counts.push(runKernel(metered.module, args, limits).fuelRemaining);
    for (const count of counts) assert.is(count, counts[0], name);
  }
});

test('a kernel out of fuel stops through out_of_fuel', () => {
  const metered = instrumentOrFail(kernel('hash'));
  const run = runKernel(metered.module, ['hash', '4096', '100'], {
    metadata: metered.metadata,
    fuel: 100_000n,
    memoryPagesMax: 1024,
  });
  assert.ok(run.outOfFuel);
  assert.is(run.fuelRemaining, 0n);
});

test('an instrumented module is refused as already instrumented', () => {
  const once = instrumentOrFail(kernel('fib'));
  const twice = instrumentModule(once.metadata.bytes);
  assert.is(twice.ok ? 'ok' : twice.error.code, 'already_instrumented');
});

test('inputs over the size limit are refused before parsing', () => {
  const result = instrumentModule(new Uint8Array(100), { moduleBytesMax: 99 });
  assert.is(result.ok ? 'ok' : result.error.code, 'too_large');
});

test('errors name the section and offset of the problem', () => {
  const bytes = buildModule({ functions: [{ body: [op.br, 5] }] });
  const result = instrumentModule(bytes);
  if (result.ok) assert.unreachable('a branch out of range is malformed');
  else {
    assert.is(result.error.code, 'malformed');
    assert.is(result.error.section, 'code');
    assert.ok(result.error.offset > 8 && result.error.offset < bytes.length);
    assert.match(result.error.message, 'branch depth');
  }
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => neverThrows(bytes)),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (tail) => {
      neverThrows(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...tail]));
    }),
    { numRuns: 1000 },
  );
});

test('truncations of a real module never throw', () => {
  const bytes = kernel('matmul');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (length) =>
      neverThrows(bytes.subarray(0, length)),
    ),
    { numRuns: 300 },
  );
});

test('bit flips and byte overwrites of real modules never throw', () => {
  const modules = [
    kernel('fib'),
    buildModule({ functions: [{ body: [op.loop, op.void, op.br, 0, op.end] }] }),
  ];
  // Flips land in the code section more often when aimed at its range.
  const codeAt = (bytes: Uint8Array): number => bytes.length - Math.floor(bytes.length / 3);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: modules.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), {
        minLength: 1,
        maxLength: 4,
      }),
      (which, edits) => {
        const mutated = new Uint8Array(modules[which]!);
        for (const [where, value, aimAtCode] of edits) {
          const start = aimAtCode ? Math.min(codeAt(mutated), mutated.length - 1) : 0;
          const at = start + (where % (mutated.length - start));
          mutated[at] = aimAtCode ? mutated[at]! ^ (1 << (value & 7)) : value;
        }
        neverThrows(mutated);
      },
    ),
    { numRuns: 1000 },
  );
});

test.run();
