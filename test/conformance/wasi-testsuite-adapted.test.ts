// The same 26 tests of ../shared/wasi-testsuite through the component path: each preview1
// test module is adapted into a wasi:cli/command component with jco's bundled preview1
// adapter (as components/p2/build.sh builds our components), then prepared and run by the
// Executor on the component host. Prints "wasi-testsuite (adapted components): N/26 passed".
// Four tests end differently on this path because of the adapted component itself
// (known-differences.ts; adapter-differences.test.ts shows each cause, and that jco's own
// runner ends them the same way); each is asserted to end exactly so, so a change is noticed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import type { TaskResult } from '../../wasi-executor/types.js';
import { adaptCommand } from './adapt.js';
import { knownDifferences } from './known-differences.js';
import { expectationOf, findTests, preopensFor, type Expectation } from './suite.js';

const executor = new Executor();
const scratch = mkdtempSync(join(tmpdir(), 'wasi-testsuite-adapted-'));
const testFiles = findTests();
const decoder = new TextDecoder();
let passed = 0;

async function runAdapted(wasmPath: string, expected: Expectation): Promise<TaskResult> {
  const name = basename(wasmPath, '.wasm');
  const component = await adaptCommand(readFileSync(wasmPath));
  const prepared = await executor.prepare(component);
  if (!prepared.ok) throw new Error(`${name}: ${prepared.error.message}`);
  const run = await executor.run(prepared.value, {
    programName: `${name}.wasm`,
    args: expected.args ?? [],
    env: expected.env ?? {},
    preopens: preopensFor(wasmPath, name, expected, scratch),
  });
  if (!run.ok) throw new Error(`${name}: ${run.error.message}`);
  return run.value;
}

test('the suite has its 26 tests', () => {
  assert.is(testFiles.length, 26);
});

for (const wasmPath of testFiles) {
  const name = basename(wasmPath, '.wasm');
  const known = knownDifferences[name];
  const title = known
    ? `adapted ${name} ends as documented for this path`
    : `adapted ${name} behaves as expected`;
  test(title, async () => {
    const expected = expectationOf(wasmPath);
    const result = await runAdapted(wasmPath, expected);
    const stderr = decoder.decode(result.stderr);
    if (known) {
      assert.is(result.reason, known.reason, result.message);
      assert.is(result.exitCode, known.exitCode, `${result.reason}: ${result.message}`);
      assert.is(stderr, known.stderr);
      return;
    }
    assert.is(
      result.exitCode,
      expected.exit_code ?? 0,
      `${name}: ${result.reason}: ${result.message}; stderr: ${stderr}`,
    );
    if (expected.stdout !== undefined) assert.is(decoder.decode(result.stdout), expected.stdout);
    if (expected.stderr !== undefined) assert.is(stderr, expected.stderr);
    passed += 1;
  });
}

test.after(async () => {
  process.stdout.write(
    `wasi-testsuite (adapted components): ${passed}/${testFiles.length} passed\n`,
  );
  await executor.close();
  rmSync(scratch, { recursive: true, force: true });
});

test.run();
