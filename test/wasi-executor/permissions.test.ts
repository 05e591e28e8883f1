// The guest sees exactly what its spec grants: args, env, stdin, and files only below its
// preopens (read-only ones refuse writes); every way out of a preopen is refused.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import { programBytes, runProgram, text } from './programs.js';

const executor = new Executor({ limits: { workersMax: 1 } });
const scratch = mkdtempSync(join(tmpdir(), 'wasmos-permissions-'));

test('args reach the guest after the program name, and nothing else', async () => {
  const result = await runProgram(executor, 'args-echo', { args: ['one', 'two words', ''] });
  assert.is(text(result.stdout), 'one\ntwo words\n\n');
});

test('the environment is exactly the spec, never the host process environment', async () => {
  process.env['WASMOS_HOST_SECRET'] = 'leak';
  const result = await runProgram(executor, 'env-dump', { env: { A: '1', B: 'x=y' } });
  assert.is(text(result.stdout), 'A=1\nB=x=y\n');
  const empty = await runProgram(executor, 'env-dump');
  assert.is(text(empty.stdout), '');
});

test('stdin is the spec bytes, then end of file', async () => {
  const input = new TextEncoder().encode('line one\nline two\n'.repeat(1000));
  const result = await runProgram(executor, 'stdin-cat', { stdin: input });
  assert.equal(result.stdout, input);
});

test('a writable preopen accepts writes below it', async () => {
  const dir = mkdtempSync(join(scratch, 'rw-'));
  const result = await runProgram(executor, 'file-write', {
    args: ['/data/out.txt', 'hello'],
    preopens: [{ hostPath: dir, guestPath: '/data', writable: true }],
  });
  assert.is(text(result.stdout), 'wrote 5 bytes\n');
  assert.is(readFileSync(join(dir, 'out.txt'), 'utf8'), 'hello');
});

test('a read-only preopen refuses to create or write files', async () => {
  const dir = mkdtempSync(join(scratch, 'ro-'));
  writeFileSync(join(dir, 'existing.txt'), 'keep');
  for (const path of ['/data/new.txt', '/data/existing.txt']) {
    const result = await runProgram(executor, 'file-write', {
      args: [path, 'overwrite'],
      preopens: [{ hostPath: dir, guestPath: '/data', writable: false }],
    });
    assert.is(result.exitCode, 1);
    assert.match(text(result.stdout), /^open failed: /);
  }
  assert.not.ok(existsSync(join(dir, 'new.txt')));
  assert.is(readFileSync(join(dir, 'existing.txt'), 'utf8'), 'keep');
});

test('no file is reachable without a preopen', async () => {
  const result = await runProgram(executor, 'file-write', { args: ['/tmp/x.txt', 'x'] });
  assert.is(result.exitCode, 1);
  assert.match(text(result.stdout), /^open failed: /);
});

test('the filesystem calls a real program makes all work inside a writable preopen', async () => {
  const dir = mkdtempSync(join(scratch, 'tour-'));
  const result = await runProgram(executor, 'fs-tour', {
    preopens: [{ hostPath: dir, guestPath: '/work', writable: true }],
  });
  const output = text(result.stdout);
  assert.is(result.exitCode, 0, output);
  assert.not.match(output, /FAIL/);
  assert.match(output, /^entries: \. \.\. b\.txt link sub$/m);
  assert.match(output, /^ok slept at least 20 ms$/m);
  assert.equal(readdirSync(dir), []);
});

test('dotdot, absolute paths and symlinks out of the preopen are all refused', async () => {
  const root = mkdtempSync(join(scratch, 'escape-'));
  const sandbox = join(root, 'sandbox');
  const outside = join(root, 'outside');
  mkdirSync(join(sandbox, 'inside'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'secret.txt'), 'secret');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync('../outside', join(sandbox, 'link-out'));
  symlinkSync('/etc/passwd', join(sandbox, 'link-abs'));
  const result = await runProgram(executor, 'path-escape', {
    preopens: [{ hostPath: sandbox, guestPath: '/sandbox', writable: true }],
  });
  const lines = text(result.stdout).trim().split('\n');
  assert.is(lines.length, 9, text(result.stdout));
  for (const line of lines) assert.match(line, /: blocked \(/);
  assert.is(result.exitCode, 0);
  assert.not.ok(existsSync(join(outside, 'planted.txt')));
  assert.not.ok(existsSync(join(root, 'moved')));
  assert.not.ok(existsSync(join(sandbox, 'planted-link')));
  assert.ok(existsSync(join(sandbox, 'inside')));
});

test('a preopen that does not exist is refused before running, with invalid_spec', async () => {
  const prepared = await executor.prepare(programBytes('hello'));
  assert.ok(prepared.ok);
  const run = await executor.run(prepared.value, {
    preopens: [{ hostPath: join(scratch, 'missing'), guestPath: '/x', writable: false }],
  });
  assert.not.ok(run.ok);
  assert.is(run.ok ? '' : run.error.code, 'invalid_spec');
});

test.after(async () => {
  await executor.close();
  rmSync(scratch, { recursive: true, force: true });
});

test.run();
