import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestExit } from '../../../wasi-executor/guest.js';
import type { ComponentArtifact } from '../../../wasi-executor/component/run.js';
import { builtComponent, prepared, run } from './support.js';

let hello: ComponentArtifact;
let probe: ComponentArtifact;
let sandbox: string;
let outside: string;

test.before(async () => {
  hello = await prepared(builtComponent('p2/hello.wasm'));
  probe = await prepared(builtComponent('p2/probe.wasm'));
  sandbox = mkdtempSync(join(tmpdir(), 'wasmos-component-'));
  outside = mkdtempSync(join(tmpdir(), 'wasmos-outside-'));
  writeFileSync(join(outside, 'secret.txt'), 'host secret');
  mkdirSync(join(sandbox, 'ro'));
  mkdirSync(join(sandbox, 'rw'));
  writeFileSync(join(sandbox, 'ro', 'greeting.txt'), 'hello, file');
  symlinkSync(join(outside, 'secret.txt'), join(sandbox, 'ro', 'absolute-link'));
  symlinkSync(
    '../../' + outside.split('/').pop() + '/secret.txt',
    join(sandbox, 'ro', 'relative-link'),
  );
  symlinkSync('greeting.txt', join(sandbox, 'ro', 'inner-link'));
});

test.after(() => {
  rmSync(sandbox, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const preopens = () => [
  { hostPath: join(sandbox, 'ro'), guestPath: '/ro', writable: false },
  { hostPath: join(sandbox, 'rw'), guestPath: '/rw', writable: true },
];

const exitCodeOf = (result: Awaited<ReturnType<typeof run>>): number | undefined => {
  if (result.outcome?.kind === 'exited') return result.outcome.exitCode;
  return result.thrown instanceof GuestExit ? result.thrown.exitCode : undefined;
};

test('hello writes its line to stdout and exits 0', async () => {
  const result = await run(hello);
  assert.equal(result.outcome, { kind: 'exited', exitCode: 0 });
  assert.is(result.stdout, 'hello from a component\n');
  assert.is(result.stderr, '');
});

test('one prepared component serves many tasks, each on a fresh instance', async () => {
  for (let task = 0; task < 3; task++) {
    const result = await run(hello);
    assert.is(result.stdout, 'hello from a component\n');
  }
});

test('the guest sees its program name and arguments', async () => {
  const result = await run(probe, { programName: 'probe', args: ['args', 'two words', 'ü'] });
  assert.is(result.stdout, 'probe\nargs\ntwo words\nü\n');
});

test('the environment is exactly what the spec grants, nothing of the host', async () => {
  assert.ok(Object.keys(process.env).length > 0);
  const result = await run(probe, { args: ['env'], env: { ONLY: 'this', EMPTY: '' } });
  assert.is(result.stdout, 'ONLY=this\nEMPTY=\n');
  const none = await run(probe, { args: ['env'] });
  assert.is(none.stdout, '');
});

test('stdin bytes come from the spec', async () => {
  const result = await run(probe, {
    args: ['cat'],
    stdin: new TextEncoder().encode('line one\nline two\n'),
  });
  assert.is(result.stdout, 'line one\nline two\n');
  assert.is(exitCodeOf(result), 0);
});

test('a failing exit status reaches the runner as exit code 1 (the preview1 adapter keeps only ok/err)', async () => {
  const result = await run(probe, { args: ['exit', '7'] });
  assert.is(exitCodeOf(result), 1);
  const success = await run(probe, { args: ['exit', '0'] });
  assert.is(exitCodeOf(success), 0);
});

test('stderr goes to the task stderr sink', async () => {
  const result = await run(probe, { args: ['stderr', 'to stderr'] });
  assert.is(result.stderr, 'to stderr');
  assert.is(result.stdout, '');
});

test('a granted file is readable, through an inner symlink too', async () => {
  const direct = await run(probe, { args: ['read', '/ro/greeting.txt'], preopens: preopens() });
  assert.is(direct.stdout, 'hello, file');
  const linked = await run(probe, { args: ['read', '/ro/inner-link'], preopens: preopens() });
  assert.is(linked.stdout, 'hello, file');
});

test('a directory listing shows the preopen contents', async () => {
  const result = await run(probe, { args: ['ls', '/ro'], preopens: preopens() });
  assert.equal(result.stdout.trim().split('\n').sort(), [
    'absolute-link',
    'greeting.txt',
    'inner-link',
    'relative-link',
  ]);
});

test('.. out of a preopen, host paths and symlinks leading out are all refused', async () => {
  const escapes = [
    '/ro/../../' + outside.split('/').pop() + '/secret.txt',
    join(outside, 'secret.txt'),
    '/ro/absolute-link',
    '/ro/relative-link',
  ];
  for (const path of escapes) {
    const result = await run(probe, { args: ['read', path], preopens: preopens() });
    assert.is(result.stdout, '', path);
    assert.is.not(exitCodeOf(result), 0, path);
  }
});

test('with no preopen nothing of the file system is visible', async () => {
  const result = await run(probe, { args: ['read', '/etc/hostname'] });
  assert.is(result.stdout, '');
  assert.is.not(exitCodeOf(result), 0);
});

test('a read-only preopen refuses writes; a writable one takes them', async () => {
  const refused = await run(probe, { args: ['write', '/ro/new.txt', 'x'], preopens: preopens() });
  assert.is.not(exitCodeOf(refused), 0);
  assert.ok(!existsSync(join(sandbox, 'ro', 'new.txt')));
  const written = await run(probe, {
    args: ['write', '/rw/new.txt', 'written'],
    preopens: preopens(),
  });
  assert.is(exitCodeOf(written), 0);
  assert.is(readFileSync(join(sandbox, 'rw', 'new.txt'), 'utf8'), 'written');
});

test.run();
