// `wasmos exec` as a user runs it: the built CLI in a child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const programs = join(repoRoot, 'components', 'built', 'programs');
const scratch = mkdtempSync(join(tmpdir(), 'wasmos-cli-exec-'));

function wasmos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    process.execPath,
    [cli, 'exec', '--cache-dir', join(scratch, 'cache'), ...args],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('streams the program output and exits with its status', () => {
  const run = wasmos(join(programs, 'args-echo.wasm'), '--', 'one', '--two');
  assert.is(run.stdout, 'one\n--two\n');
  assert.is(run.status, 0);
  const bomb = wasmos(join(programs, 'memory-bomb.wasm'), '--memory', '4MiB');
  assert.is(bomb.status, 12);
  assert.match(bomb.stderr, /malloc failed after/);
});

test('--json prints the whole result, output included, on stdout', () => {
  const run = wasmos(join(programs, 'env-dump.wasm'), '--env', 'GREETING=hi there', '--json');
  const result = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.is(result['reason'], 'exited');
  assert.is(result['exitCode'], 0);
  assert.is(result['stdout'], 'GREETING=hi there\n');
  assert.type(result['fuelConsumed'], 'number');
  assert.is(run.status, 0);
});

test('--stats prints one summary line on stderr', () => {
  const run = wasmos(join(programs, 'hello.wasm'), '--stats');
  assert.is(run.stdout, 'hello from wasm\n');
  assert.match(run.stderr, /^wasmos exec: reason=exited exit=0 fuel=\d+ peak-memory=.+ time=.+\n$/);
});

test('--timeout ends a runaway program with status 124 and says why', () => {
  const run = wasmos(join(programs, 'infinite-loop.wasm'), '--timeout', '200ms');
  assert.is(run.status, 124);
  assert.match(run.stderr, /\[timeout\]/);
});

test('--fuel ends a runaway program with the trap status 134', () => {
  const run = wasmos(join(programs, 'infinite-loop.wasm'), '--fuel', '1000000', '--json');
  assert.is(run.status, 134);
  assert.is((JSON.parse(run.stdout) as { reason: string }).reason, 'fuel_exhausted');
});

test('--allow-read maps a host directory at a guest path, and --stdin feeds a file', () => {
  const dir = mkdtempSync(join(scratch, 'data-'));
  writeFileSync(join(dir, 'input.txt'), 'from a file\n');
  const run = wasmos(join(programs, 'stdin-cat.wasm'), '--stdin', join(dir, 'input.txt'));
  assert.is(run.stdout, 'from a file\n');
  const denied = wasmos(
    join(programs, 'file-write.wasm'),
    '--allow-read',
    `${dir}:/data`,
    '--',
    '/data/x',
    'y',
  );
  assert.is(denied.status, 1);
  assert.match(denied.stdout, /^open failed/);
  const allowed = wasmos(
    join(programs, 'file-write.wasm'),
    '--allow-write',
    `${dir}:/data`,
    '--',
    '/data/x',
    'y',
  );
  assert.is(allowed.stdout, 'wrote 1 bytes\n');
});

test('a file that is not wasm fails with status 1 and a typed error', () => {
  const path = join(scratch, 'not.wasm');
  writeFileSync(path, 'hello');
  const run = wasmos(path);
  assert.is(run.status, 1);
  assert.match(run.stderr, /magic bytes.*\[invalid_wasm\]/);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
