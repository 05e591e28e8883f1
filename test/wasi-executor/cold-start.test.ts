// The cold-start path of a realistic component (components/p2/textkit.c, 212 KB): it is
// prepared, cached on disk, runs its whole demo (heap growth after the preview1 adapter has
// set itself up, which broke before the program exported cabi_realloc), and prepare says
// where its time went.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';
import { text } from './programs.js';
import { programBytes } from '../support/programs.js';

const textkit = new Uint8Array(
  readFileSync(new URL('../../../components/built/p2/textkit.wasm', import.meta.url)),
);
const pathEscape = programBytes('path-escape');
const workDir = mkdtempSync(join(tmpdir(), 'wasmos-cold-start-'));
const executor = new Executor({ workDir, limits: { workersMax: 1 } });

async function prepared(on: Executor, bytes: Uint8Array): Promise<PreparedModule> {
  const result = await on.prepare(bytes);
  if (!result.ok) throw result.error;
  return result.value;
}

test('textkit prepares with its phases timed and runs its whole demo', async () => {
  const module = await prepared(executor, textkit);
  assert.is(module.source, 'compiled');
  const phases = module.phasesMs;
  assert.ok(phases !== undefined, 'a prepare that did work says where its time went');
  if (phases === undefined) return;
  assert.ok(phases.transpileMs > 0, 'jco transpiled it');
  assert.ok(phases.instrumentMs > 0, 'its core modules were instrumented');
  assert.ok(phases.compileMs > 0);
  const sum = phases.cacheReadMs + phases.transpileMs + phases.instrumentMs + phases.compileMs;
  assert.ok(sum <= module.prepareMs + 1, `phases ${sum} ms within prepare ${module.prepareMs} ms`);

  const run = await executor.run(module, {});
  assert.ok(run.ok);
  if (!run.ok) return;
  assert.is(run.value.reason, 'exited', run.value.message);
  assert.is(run.value.exitCode, 0);
  const output = text(run.value.stdout);
  assert.ok(output.endsWith('textkit ok\n'), output);
  for (const part of ['calc', 'compress', 'sort', 'grep', 'words', 'charsets', 'dates'])
    assert.match(output, new RegExp(`== ${part} `));
});

test('textkit runs a program of its little language given as arguments', async () => {
  const module = await prepared(executor, textkit);
  const program = 'fn f(n) { if (n < 2) { return 1; } return n * f(n - 1); } print(f(10));';
  const run = await executor.run(module, { args: ['calc', program] });
  assert.ok(run.ok && run.value.exitCode === 0);
  assert.is(run.ok && text(run.value.stdout), '3628800\n');
});

test('a disk cache hit skips transpile and instrument, a memory cache hit reports no phases', async () => {
  const fromMemory = await prepared(executor, textkit);
  assert.is(fromMemory.source, 'memory_cache');
  assert.is(fromMemory.phasesMs, undefined);
  const other = new Executor({ workDir, limits: { workersMax: 1 } });
  const fromDisk = await prepared(other, textkit);
  assert.is(fromDisk.source, 'disk_cache');
  assert.is(fromDisk.phasesMs?.transpileMs, 0);
  assert.is(fromDisk.phasesMs?.instrumentMs, 0);
  assert.ok((fromDisk.phasesMs?.cacheReadMs ?? 0) > 0);
  const run = await other.run(fromDisk, { args: ['--help'] });
  assert.is(run.ok && run.value.exitCode, 0);
  await other.close();
});

test('a preview1 module has no transpile phase', async () => {
  const module = await prepared(executor, pathEscape);
  assert.is(module.phasesMs?.transpileMs, 0);
  assert.ok((module.phasesMs?.instrumentMs ?? 0) > 0);
});

test('warming the component tools leaves every worker ready to serve components at once', async () => {
  const fresh = new Executor({ limits: { workersMax: 2 } });
  await fresh.warm({ componentTools: true });
  assert.is(fresh.workerCount, 2);
  const module = await prepared(fresh, textkit);
  assert.is(module.source, 'compiled', 'the warm-up cached nothing');
  const runs = await Promise.all([
    fresh.run(module, { args: ['--help'] }),
    fresh.run(module, { args: ['--help'] }),
  ]);
  for (const run of runs) assert.is(run.ok && run.value.exitCode, 0);
  assert.is(fresh.workerCount, 2, 'no worker was replaced');
  await fresh.close();
});

test.after(async () => {
  await executor.close();
  rmSync(workDir, { recursive: true, force: true });
});

test.run();
