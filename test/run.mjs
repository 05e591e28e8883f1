#!/usr/bin/env node
// The test runner behind `npm test`: runs every compiled test file (dist/test/**/*.test.js)
// in its own Node process (so a leaked handle or a crash stays contained and is reported),
// two at a time by default, collects V8 coverage from all of them, prints a c8 report, and
// ends with exactly one line: `N passed, N failed` (`, N skipped` when any were skipped).
//
//   node test/run.mjs [--coverage] [--jobs N] [--timeout SECONDS] [FILTER ...]
//
// A FILTER keeps files whose path contains it (e.g. `protocol`). A file that exits non-zero
// without uvu reporting a failure, prints no uvu summary, or overruns its timeout counts as
// one failed test, so a crash can never pass silently.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags, positionals: filters } = parseArgs({
  allowPositionals: true,
  options: {
    coverage: { type: 'boolean', default: false },
    jobs: { type: 'string', default: process.env.WASMOS_TEST_JOBS ?? '2' },
    timeout: { type: 'string', default: process.env.WASMOS_TEST_TIMEOUT_S ?? '600' },
  },
});
const jobs = Math.max(1, Number(flags.jobs));
const timeoutMs = Number(flags.timeout) * 1000;
const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');

function findTestFiles(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTestFiles(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

// Strips ANSI escapes so uvu's summary can be read whatever its colour settings.
const plain = (text) => text.replace(new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g'), '');

function readSummary(output) {
  const text = plain(output);
  const total = /Total:\s+(\d+)/.exec(text);
  const passed = /Passed:\s+(\d+)/.exec(text);
  const skipped = /Skipped:\s+(\d+)/.exec(text);
  if (!total || !passed) return undefined;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: Number(skipped?.[1] ?? 0) };
}

function runFile(file, coverageDir) {
  return new Promise((resolve) => {
    const started = Date.now();
    const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    if (coverageDir) env.NODE_V8_COVERAGE = coverageDir;
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Anything the test file left behind in its process group goes with it.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is already gone */
      }
      resolve({ file, code, signal, output, timedOut, durationMs: Date.now() - started });
    });
  });
}

function judge(run) {
  const summary = readSummary(run.output);
  const name = relative(testDir, run.file);
  if (!summary) {
    const why = run.timedOut
      ? `timed out after ${timeoutMs / 1000}s`
      : `exited ${run.code ?? run.signal} with no uvu summary`;
    return { name, passed: 0, failed: 1, skipped: 0, why };
  }
  // uvu's Total counts the tests that ran; skipped ones are not in it.
  let failed = summary.total - summary.passed;
  let why = failed > 0 ? `${failed} failed` : undefined;
  if (failed === 0 && (run.code !== 0 || run.timedOut)) {
    failed = 1;
    why = run.timedOut
      ? `timed out after ${timeoutMs / 1000}s`
      : `exited ${run.code ?? run.signal} after its tests`;
  }
  return { name, passed: summary.passed, failed, skipped: summary.skipped, why };
}

const files = findTestFiles(testDir).filter(
  (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
);
const coverageDir = flags.coverage ? mkdtempSync(join(tmpdir(), 'wasmos-coverage-')) : undefined;
const queue = [...files];
const verdicts = [];

async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const run = await runFile(file, coverageDir);
    const verdict = judge(run);
    verdicts.push(verdict);
    const seconds = (run.durationMs / 1000).toFixed(1);
    const mark = verdict.failed > 0 ? 'FAIL' : 'ok  ';
    process.stdout.write(`${mark} ${verdict.name} (${verdict.passed} passed, ${seconds}s)\n`);
    if (verdict.failed > 0) {
      process.stdout.write(`---- ${verdict.name}: ${verdict.why}\n${run.output}\n----\n`);
    }
  }
}

await Promise.all(Array.from({ length: Math.min(jobs, files.length || 1) }, worker));

if (coverageDir) {
  const c8 = join(root, 'node_modules', 'c8', 'bin', 'c8.js');
  await new Promise((resolve) => {
    const report = spawn(
      process.execPath,
      [
        c8,
        'report',
        '--temp-directory',
        coverageDir,
        '--reporter',
        'text-summary',
        '--reporter',
        'html',
        '--src',
        root,
        '--exclude',
        'dist/test/**',
        '--exclude',
        'dist/bench/**',
      ],
      { cwd: root, stdio: 'inherit' },
    );
    report.on('close', resolve);
  });
  rmSync(coverageDir, { recursive: true, force: true });
}

const total = (key) => verdicts.reduce((sum, verdict) => sum + verdict[key], 0);
const failedFiles = verdicts.filter((verdict) => verdict.failed > 0).map((verdict) => verdict.name);
if (files.length === 0) {
  process.stdout.write('no test files found under dist/test (run `npm run build` first)\n');
}
if (failedFiles.length > 0) process.stdout.write(`failing files: ${failedFiles.join(', ')}\n`);
const skipped = total('skipped');
const failed = total('failed') + (files.length === 0 ? 1 : 0);
process.stdout.write(
  `${total('passed')} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`,
);
process.exitCode = failed > 0 ? 1 : 0;
