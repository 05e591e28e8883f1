// Runs every test of the WASI testsuite subset in ../shared/wasi-testsuite through the
// Executor API, as its README says: args, env, a fresh copy of `root` preopened as the
// guest's "/", expected exit code and exact stdout/stderr. Prints "wasi-testsuite: N/M passed".
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';
import type { TaskSpec } from '../../wasi-executor/types.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const suiteRoot = resolve(repoRoot, '../shared/wasi-testsuite/tests');

interface Expectation {
  readonly args?: string[];
  readonly env?: Record<string, string>;
  readonly root?: string | null;
  readonly exit_code?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.wasm')) found.push(path);
  }
  return found;
}

function removeCleanupFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.cleanup')) rmSync(path, { recursive: true, force: true });
    else if (statSync(path).isDirectory()) removeCleanupFiles(path);
  }
}

const executor = new Executor();
const scratch = mkdtempSync(join(tmpdir(), 'wasi-testsuite-'));
const testFiles = findTests(suiteRoot);
let passed = 0;

test('the suite has its 26 tests', () => {
  assert.is(testFiles.length, 26);
});

for (const wasmPath of testFiles) {
  const name = basename(wasmPath, '.wasm');
  test(`wasi-testsuite ${name} behaves as expected`, async () => {
    const jsonPath = wasmPath.replace(/\.wasm$/, '.json');
    const expected: Expectation = existsSync(jsonPath)
      ? JSON.parse(readFileSync(jsonPath, 'utf8'))
      : {};
    const prepared = await executor.prepare(readFileSync(wasmPath));
    assert.ok(prepared.ok, prepared.ok ? '' : prepared.error.message);
    const spec: TaskSpec = {
      programName: `${name}.wasm`,
      args: expected.args ?? [],
      env: expected.env ?? {},
    };
    let preopens: TaskSpec['preopens'] = [];
    if (expected.root) {
      const copy = join(mkdtempSync(join(scratch, `${name}-`)), expected.root);
      cpSync(join(wasmPath, '..', expected.root), copy, { recursive: true });
      removeCleanupFiles(copy);
      preopens = [{ hostPath: copy, guestPath: '/', writable: true }];
    }
    const run = await executor.run((prepared as { value: PreparedModule }).value, {
      ...spec,
      preopens,
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
