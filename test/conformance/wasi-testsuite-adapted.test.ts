// The same 26 tests of ../shared/wasi-testsuite through the component path: each preview1
// test module is adapted into a wasi:cli/command component with jco's bundled preview1
// adapter (as components/p2/build.sh builds our components), then prepared and run by the
// Executor on the component host. Prints "wasi-testsuite (adapted components): N/26 passed".
// Four tests end differently on this path, for reasons outside our host (docs/COMPONENTS.md);
// each is asserted to end exactly as documented, so a change either way is noticed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { componentNew, preview1AdapterCommandPath } from '@bytecodealliance/jco';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import type { TaskResult } from '../../wasi-executor/types.js';
import { expectationOf, findTests, preopensFor, type Expectation } from './suite.js';

/** How the tests that differ on this path end, and why (docs/COMPONENTS.md). */
const knownDifferences: Record<string, { exitCode: number | null; stderr: RegExp }> = {
  // WASI 0.2.0's wasi:cli/exit carries only ok/err: the adapter turns proc_exit(33) into err, 1.
  'proc_exit-failure': { exitCode: 1, stderr: /^$/ },
  // The bundled adapter asserts on how the glue's lowering allocates a list of several strings.
  'args_get-multiple-arguments': { exitCode: null, stderr: /assertion failed at adapter line/ },
  'environ_get-multiple-variables': { exitCode: null, stderr: /assertion failed at adapter line/ },
  // The adapter answers a write to an unknown descriptor with another errno than the test wants.
  'fd_write-to-invalid-fd': { exitCode: 1, stderr: /abort/ },
};

const executor = new Executor();
const adapter = readFileSync(preview1AdapterCommandPath());
const scratch = mkdtempSync(join(tmpdir(), 'wasi-testsuite-adapted-'));
const testFiles = findTests();
const decoder = new TextDecoder();
let passed = 0;

async function runAdapted(wasmPath: string, expected: Expectation): Promise<TaskResult> {
  const name = basename(wasmPath, '.wasm');
  const component = await componentNew(readFileSync(wasmPath), [
    ['wasi_snapshot_preview1', adapter],
  ]);
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
      assert.is(result.exitCode, known.exitCode, `${result.reason}: ${result.message}`);
      assert.match(stderr, known.stderr);
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
