import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readLog, RotatingLog } from '../../agent/sandbox/rotating-log.js';
import { SANDBOX_FLAT_REMOVAL_ENTRIES_MAX, Sandboxes } from '../../agent/sandbox/sandboxes.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-sandbox-'));
  dirs.push(dir);
  return dir;
}
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const alphabet = (from: number, count: number): string =>
  Array.from({ length: count }, (_, index) => String.fromCharCode(97 + ((from + index) % 26))).join(
    '',
  );

test('a rotated log stays bounded: current file plus rotationsKept files of bytesMax each', () => {
  const dir = freshDir();
  const log = new RotatingLog(dir, 'stdout', 10, 2);
  for (let index = 0; index < 100; index++) log.write(Buffer.from(alphabet(index, 1)));
  log.close();
  assert.equal(readdirSync(dir).sort(), ['stdout', 'stdout.1', 'stdout.2', 'stdout.dropped']);
  for (const name of ['stdout', 'stdout.1', 'stdout.2'])
    assert.ok(statSync(join(dir, name)).size <= 10);
});

test('offsets count from the first byte ever written, across rotations', () => {
  const dir = freshDir();
  const log = new RotatingLog(dir, 'stdout', 10, 2);
  log.write(Buffer.from(alphabet(0, 45)));
  const tail = readLog(dir, 'stdout', undefined, 7);
  assert.equal(
    { offset: tail.offset, size: tail.size, text: text(tail.data) },
    { offset: 38, size: 45, text: alphabet(38, 7) },
  );
  const middle = readLog(dir, 'stdout', 22, 12);
  assert.is(text(middle.data), alphabet(22, 12));
  const rotatedAway = readLog(dir, 'stdout', 0, 5);
  assert.is(rotatedAway.offset, 20);
  assert.is(text(rotatedAway.data), alphabet(20, 5));
  const past = readLog(dir, 'stdout', 45, 5);
  assert.equal([past.offset, past.data.length], [45, 0]);
  log.close();
});

test('one write larger than a file is split across rotations without losing its tail', () => {
  const dir = freshDir();
  const log = new RotatingLog(dir, 'stderr', 4, 1);
  log.write(Buffer.from('0123456789'));
  log.close();
  const all = readLog(dir, 'stderr', 0, 100);
  assert.equal([all.offset, text(all.data), all.size], [4, '456789', 10]);
});

test('a fresh stream (a new sandbox) keeps the same offsets and bounds as any other', () => {
  const dir = freshDir();
  const log = new RotatingLog(dir, 'stderr', 10, 1, true);
  log.write(Buffer.from(alphabet(0, 25)));
  log.close();
  assert.equal(readdirSync(dir).sort(), ['stderr', 'stderr.1', 'stderr.dropped']);
  const all = readLog(dir, 'stderr', 0, 100);
  assert.equal([all.offset, text(all.data), all.size], [10, alphabet(10, 15), 25]);
});

function openSandboxes(workDir: string, finishedSandboxesKept: number): Promise<Sandboxes> {
  return Sandboxes.open({
    root: join(workDir, 'sandboxes'),
    indexFile: join(workDir, 'sandboxes.journal'),
    limits: { finishedSandboxesKept },
    journalCompactBytesMin: 1024 * 1024,
  });
}

test('finished sandboxes beyond the kept count are removed, oldest first; logs stay findable', async () => {
  const workDir = freshDir();
  const root = join(workDir, 'sandboxes');
  const sandboxes = await openSandboxes(workDir, 2);
  const made = ['c1', 'c2', 'c3'].map((id) => sandboxes.create('fw', `task-${id}`, id));
  for (const dir of made) sandboxes.finish(dir);
  assert.is(sandboxes.find('fw', 'task-c1'), undefined);
  await sandboxes.close(); // index records written and old sandboxes removed in the background
  assert.equal(readdirSync(root).sort(), ['c2', 'c3']);
  assert.equal(readdirSync(join(root, 'c3')), [], 'no owner file in a sandbox: the index names it');
  assert.is(sandboxes.find('fw', 'task-c1'), undefined);
  assert.is(sandboxes.find('fw', 'task-c3'), join(root, 'c3'));
  const reopened = await openSandboxes(workDir, 2);
  assert.is(reopened.find('fw', 'task-c2'), join(root, 'c2'));
  assert.is(reopened.find('fw', 'task-c3'), join(root, 'c3'));
  assert.is(reopened.find('fw', 'task-c1'), undefined);
  await reopened.close();
  // Opening rewrote the index from what is on disk: the removed sandbox is forgotten.
  const index = readFileSync(join(workDir, 'sandboxes.journal'), 'utf8');
  assert.not.match(index, 'task-c1');
  assert.match(index, 'task-c2');
});

test('after a restart: legacy owner files are read, an unnamed sandbox waits for its bound', async () => {
  const workDir = freshDir();
  const root = join(workDir, 'sandboxes');
  mkdirSync(join(root, 'old'), { recursive: true });
  const owner = { framework_id: 'fw', task_id: 'old-task', container_id: 'old' };
  writeFileSync(join(root, 'old', 'sandbox.json'), JSON.stringify(owner));
  mkdirSync(join(root, 'unnamed'));
  writeFileSync(join(root, 'unnamed', 'stdout'), 'kept until collected');
  const sandboxes = await openSandboxes(workDir, 2);
  assert.is(sandboxes.find('fw', 'old-task'), join(root, 'old'));
  // A re-attached container claims its sandbox even when the index lost its record.
  sandboxes.reopen('fw', 'lost-record', 'unnamed', join(root, 'unnamed'));
  assert.is(sandboxes.find('fw', 'lost-record'), join(root, 'unnamed'));
  assert.ok(sandboxes.isActive(join(root, 'unnamed')));
  for (const id of ['n1', 'n2']) sandboxes.finish(sandboxes.create('fw', id, id));
  await sandboxes.close();
  assert.equal(readdirSync(root).sort(), ['n1', 'n2', 'unnamed']);
  const reopened = await openSandboxes(workDir, 2);
  assert.is(reopened.find('fw', 'lost-record'), join(root, 'unnamed'));
  await reopened.close();
});

test('collected sandboxes go whatever they hold: logs, nested directories, many files', async () => {
  const workDir = freshDir();
  const root = join(workDir, 'sandboxes');
  const sandboxes = await openSandboxes(workDir, 0);
  const plain = sandboxes.create('fw', 'plain', 'plain');
  const log = new RotatingLog(plain, 'stdout', 4, 1);
  log.write(Buffer.from('hello, world'));
  log.close();
  const nested = sandboxes.create('fw', 'nested', 'nested');
  mkdirSync(join(nested, 'data', 'deeper'), { recursive: true });
  writeFileSync(join(nested, 'data', 'deeper', 'file'), 'x');
  const many = sandboxes.create('fw', 'many', 'many');
  for (let index = 0; index <= SANDBOX_FLAT_REMOVAL_ENTRIES_MAX; index++)
    writeFileSync(join(many, `file-${index}`), 'x');
  const kept = sandboxes.create('fw', 'running', 'running');
  for (const dir of [plain, nested, many]) sandboxes.finish(dir);
  await sandboxes.close();
  assert.equal(readdirSync(root), ['running']);
  assert.is(sandboxes.find('fw', 'plain'), undefined);
  assert.is(sandboxes.find('fw', 'nested'), undefined);
  assert.is(sandboxes.find('fw', 'running'), kept);
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
