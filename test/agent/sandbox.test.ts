import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readLog, RotatingLog } from '../../agent/sandbox/rotating-log.js';
import { Sandboxes } from '../../agent/sandbox/sandboxes.js';

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

test('finished sandboxes beyond the kept count are removed, oldest first; logs stay findable', async () => {
  const root = freshDir();
  const limits = { finishedSandboxesKept: 2 };
  const sandboxes = new Sandboxes(root, limits);
  const made = ['c1', 'c2', 'c3'].map((id) => sandboxes.create('fw', `task-${id}`, id));
  for (const dir of made) sandboxes.finish(dir);
  assert.is(sandboxes.find('fw', 'task-c1'), undefined);
  await sandboxes.settled(); // owner files written and old sandboxes removed in the background
  assert.equal(readdirSync(root).sort(), ['c2', 'c3']);
  assert.is(sandboxes.find('fw', 'task-c1'), undefined);
  assert.is(sandboxes.find('fw', 'task-c3'), join(root, 'c3'));
  const reopened = new Sandboxes(root, limits);
  assert.is(reopened.find('fw', 'task-c2'), join(root, 'c2'));
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
