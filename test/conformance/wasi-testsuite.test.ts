// Runs every test of the WASI testsuite subset in ../shared/wasi-testsuite through the
// Executor API, as its README says: args, env, a fresh copy of `root` preopened as the
// guest's "/", expected exit code and exact stdout/stderr. Prints "wasi-testsuite: N/M passed".
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';
import type { TaskSpec } from '../../wasi-executor/types.js';
import { expectationOf, findTests, preopensFor } from './suite.js';

const executor = new Executor();
const scratch = mkdtempSync(join(tmpdir(), 'wasi-testsuite-'));
const testFiles = findTests();
let passed = 0;

test('the suite has its 26 tests', () => {
  assert.is(testFiles.length, 26);
});

for (const wasmPath of testFiles) {
  const name = basename(wasmPath, '.wasm');
  test(`wasi-testsuite ${name} behaves as expected`, async () => {
    const expected = expectationOf(wasmPath);
    const prepared = await executor.prepare(readFileSync(wasmPath));
    assert.ok(prepared.ok, prepared.ok ? '' : prepared.error.message);
    const spec: TaskSpec = {
      programName: `${name}.wasm`,
      args: expected.args ?? [],
      env: expected.env ?? {},
    };
    const run = await executor.run((prepared as { value: PreparedModule }).value, {
      ...spec,
      preopens: preopensFor(wasmPath, name, expected, scratch),
    });
    assert.ok(run.ok, run.ok ? '' : run.error.message);
    const result = run.value;
    const decoder = new TextDecoder();
    assert.is(
      result.exitCode,
      expected.exit_code ?? 0,
      `${name}: ${result.reason}: ${result.message}; stderr: ${new TextDecoder().decode(result.stderr)}`,
    );
    if (expected.stdout !== undefined) assert.is(decoder.decode(result.stdout), expected.stdout);
    if (expected.stderr !== undefined) assert.is(decoder.decode(result.stderr), expected.stderr);
    passed += 1;
  });
}

test.after(async () => {
  process.stdout.write(`wasi-testsuite: ${passed}/${testFiles.length} passed\n`);
  await executor.close();
  rmSync(scratch, { recursive: true, force: true });
});

test.run();
