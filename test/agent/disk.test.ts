import { randomBytes } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diskLimitation } from '../../agent/core/disk.js';
import { terminalFields } from '../../agent/core/termination.js';
import { measureDiskUsage } from '../../agent/sandbox/disk-usage.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-du-'));
  dirs.push(dir);
  return dir;
}

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('a sandbox is measured by the blocks its files hold, nested directories included', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  writeFileSync(join(dir, 'one'), randomBytes(MiB));
  writeFileSync(join(dir, 'a/b/two'), randomBytes(2 * MiB));
  const usage = await measureDiskUsage(dir, 1000);
  assert.ok(usage.complete);
  assert.is(usage.entries, 5, 'the root, two directories, two files');
  assert.ok(usage.bytes >= 3 * MiB, `${usage.bytes} covers the 3 MiB written`);
  assert.ok(usage.bytes < 4 * MiB, `${usage.bytes} is not inflated`);
});

test('a hard link counts once, a symlink is not followed, a sparse file counts what it holds', async () => {
  const outside = tempDir();
  writeFileSync(join(outside, 'big'), randomBytes(4 * MiB));
  const dir = tempDir();
  writeFileSync(join(dir, 'data'), randomBytes(MiB));
  linkSync(join(dir, 'data'), join(dir, 'again'));
  symlinkSync(join(outside, 'big'), join(dir, 'link'));
  writeFileSync(join(dir, 'sparse'), '');
  truncateSync(join(dir, 'sparse'), 1024 * MiB);
  const usage = await measureDiskUsage(dir, 1000);
  assert.ok(usage.bytes >= MiB, `${usage.bytes}`);
  assert.ok(usage.bytes < 2 * MiB, `${usage.bytes}: one copy of data, no link target, no holes`);
});

test('the walk stops at entriesMax and says its figure is a lower bound', async () => {
  const dir = tempDir();
  for (let index = 0; index < 20; index++) writeFileSync(join(dir, `f${index}`), randomBytes(8192));
  const usage = await measureDiskUsage(dir, 5);
  assert.not.ok(usage.complete);
  assert.ok(usage.entries <= 5);
  const whole = await measureDiskUsage(dir, 100);
  assert.ok(whole.complete);
  assert.ok(usage.bytes < whole.bytes);
});

test('a missing sandbox measures nothing rather than failing', async () => {
  const usage = await measureDiskUsage(join(tempDir(), 'gone'), 10);
  assert.equal(usage, { bytes: 0, entries: 0, complete: true });
});

test('a task over its disk has a limitation; at or under it, or without a disk resource, none', () => {
  const usage = (bytes: number, complete = true) => ({ bytes, entries: 1, complete });
  assert.is(diskLimitation(usage(8 * MiB), 8), undefined);
  assert.is(diskLimitation(usage(100 * MiB), 0), undefined, 'no disk resource, no limit');
  const over = diskLimitation(usage(9 * MiB), 8);
  assert.is(over?.reason, 'REASON_CONTAINER_LIMITATION_DISK');
  assert.is(
    over?.message,
    "disk limit exceeded: the sandbox uses 9.0 MiB of the task's 8 MiB disk",
  );
  assert.match(diskLimitation(usage(9 * MiB, false), 8)?.message ?? '', /uses at least 9.0 MiB/);
});

test('a limitation makes the end TASK_FAILED with its reason and message, unless the container was lost', () => {
  const limitation = { reason: 'REASON_CONTAINER_LIMITATION_DISK' as const, message: 'over' };
  const killed = terminalFields(
    { exitCode: null, reason: 'killed', message: 'killed', durationMs: 5 },
    false,
    limitation,
  );
  assert.equal(
    { state: killed.state, reason: killed.reason, message: killed.message },
    { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_DISK', message: 'over' },
  );
  const racedExit = terminalFields(
    { exitCode: 0, reason: 'exited', message: 'exited', durationMs: 5 },
    false,
    limitation,
  );
  assert.is(racedExit.reason, 'REASON_CONTAINER_LIMITATION_DISK');
  assert.is(racedExit.exit_code, undefined);
  const lost = terminalFields(
    { exitCode: null, reason: 'lost', message: 'gone', durationMs: 0 },
    false,
    limitation,
  );
  assert.is(lost.state, 'TASK_LOST');
});

test.run();
