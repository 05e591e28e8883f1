import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Journal, readRecords } from '../../agent/checkpoint/journal.js';
import { TaskCheckpoints, type TaskRecord } from '../../agent/checkpoint/tasks.js';
import { newStatusUuid, StatusUpdateManager } from '../../agent/status/manager.js';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import type { TaskState, TaskStatus } from '../../protocol/messages/task.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-journal-'));
  dirs.push(dir);
  return dir;
}

function status(taskId: string, state: TaskState): TaskStatus {
  return { task_id: { value: taskId }, state, uuid: newStatusUuid() };
}

async function openManager(dir: string, compactBytesMin = 1 << 20): Promise<StatusUpdateManager> {
  return StatusUpdateManager.open({
    dir,
    clock: new ManualClock(0),
    retry: { baseMs: 1000, maxMs: 4000 },
    updatesPerTaskMax: 8,
    journalCompactBytesMin: compactBytesMin,
    logger: silentLogger,
  });
}

function record(containerId: string, taskId: string): TaskRecord {
  return {
    framework_id: 'fw',
    container_id: containerId,
    runtime: 'wasm',
    task: {
      name: taskId,
      task_id: { value: taskId },
      agent_id: { value: 'agent' },
      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }],
    },
    sandbox_dir: `/sandboxes/${containerId}`,
  };
}

test('records appended in one turn are written together, in order, before any append resolves', async () => {
  const file = join(freshDir(), 'journal');
  const journal = await Journal.open(
    file,
    { compactBytesMin: 1 << 20, snapshot: () => [] },
    () => [],
  );
  const seenAtResolve: number[] = [];
  const appends = Array.from({ length: 50 }, (_, index) =>
    journal.append(`r${index}`, index % 2 === 0).then(() => {
      seenAtResolve.push(readFileSync(file, 'utf8').split('\n').length - 1);
    }),
  );
  await Promise.all(appends);
  // Every append resolved with all 50 records in the file: one write carried them all.
  assert.ok(seenAtResolve.every((count) => count === 50));
  assert.equal(
    await readRecords(file),
    Array.from({ length: 50 }, (_, index) => `r${index}`),
  );
  await journal.close();
  let refused = false;
  await journal.append('late', true).catch(() => (refused = true));
  assert.ok(refused, 'a closed journal refuses appends');
});

test('open drops a torn last record and keeps the complete ones', async () => {
  const file = join(freshDir(), 'journal');
  writeFileSync(file, 'one\ntwo\nthr');
  let seen: readonly string[] = [];
  const journal = await Journal.open(
    file,
    { compactBytesMin: 1 << 20, snapshot: () => [] },
    (records) => {
      seen = records;
      return records;
    },
  );
  await journal.append('four', true);
  await journal.close();
  assert.equal(seen, ['one', 'two']);
  assert.equal(await readRecords(file), ['one', 'two', 'four']);
});

test('past its bound the journal is rewritten from the snapshot, and appends continue after it', async () => {
  const file = join(freshDir(), 'journal');
  const live = new Set<string>();
  const journal = await Journal.open(
    file,
    { compactBytesMin: 2048, snapshot: () => [...live].map((key) => `live ${key}`) },
    () => [],
  );
  for (let index = 0; index < 400; index++) {
    live.add(String(index));
    await journal.append(`live ${index}`, false);
    if (index >= 3) live.delete(String(index - 3));
  }
  await journal.flush();
  const records = await readRecords(file);
  assert.ok(
    statSync(file).size < 4 * 2048,
    `the journal stays bounded (${statSync(file).size} bytes)`,
  );
  assert.ok(records.includes('live 399'));
  assert.not.ok(records.includes('live 0'), 'records of the past are gone');
  await journal.close();
});

test('the status update journal survives many ended tasks bounded, and a restart sees only live ones', async () => {
  const dir = freshDir();
  const manager = await openManager(dir, 4096);
  const live = status('live', 'TASK_RUNNING');
  await manager.update('fw', live);
  for (let index = 0; index < 100; index++) {
    const taskId = `t${index}`;
    const running = status(taskId, 'TASK_RUNNING');
    const finished = status(taskId, 'TASK_FINISHED');
    await manager.update('fw', running);
    await manager.update('fw', finished);
    await manager.acknowledge('fw', taskId, running.uuid!);
    await manager.acknowledge('fw', taskId, finished.uuid!);
  }
  await manager.settled();
  await manager.close();
  assert.ok(statSync(join(dir, 'journal')).size < 4 * 4096);
  const reopened = await openManager(dir);
  assert.equal(
    reopened.unacknowledged().map((update) => update.uuid),
    [live.uuid],
  );
  await reopened.close();
});

test('status updates an older agent left in per-task files are taken over, and the files removed', async () => {
  const dir = freshDir();
  const running = status('old', 'TASK_RUNNING');
  const finished = status('old', 'TASK_FINISHED');
  const line = (value: TaskStatus) =>
    JSON.stringify({ kind: 'update', framework_id: 'fw', status: value });
  writeFileSync(
    join(dir, 'abc.log'),
    `${line(running)}\n${JSON.stringify({ kind: 'ack', uuid: running.uuid })}\n${line(finished)}\n`,
  );
  writeFileSync(join(dir, '.journal.0123.tmp'), 'a rewrite a crash cut short');
  const manager = await openManager(dir);
  assert.equal(
    manager.unacknowledged().map((update) => update.uuid),
    [finished.uuid],
  );
  assert.equal(readdirSync(dir), ['journal']);
  await manager.close();
  assert.equal(readFileSync(join(dir, 'journal'), 'utf8').includes(finished.uuid!), true);
  let exists = true;
  try {
    statSync(join(dir, 'abc.log'));
  } catch {
    exists = false;
  }
  assert.not.ok(exists);
});

test('task checkpoints: written and removed records come back after a restart; old files are taken over', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'old.json'), JSON.stringify(record('old', 'task-old')));
  const first = await TaskCheckpoints.open({
    dir,
    journalCompactBytesMin: 4096,
    logger: silentLogger,
  });
  assert.equal(
    first.list().map((each) => each.container_id),
    ['old'],
  );
  await first.write(record('c1', 'task-1'));
  await first.write(record('c2', 'task-2'));
  await first.remove('old');
  await first.remove('c1');
  for (let index = 0; index < 50; index++) {
    await first.write(record(`x${index}`, `task-x${index}`));
    await first.remove(`x${index}`);
  }
  await first.close();
  const second = await TaskCheckpoints.open({
    dir,
    journalCompactBytesMin: 4096,
    logger: silentLogger,
  });
  assert.equal(
    second.list().map((each) => each.container_id),
    ['c2'],
  );
  await second.close();
});

test('a crash (kill -9) loses no update whose checkpoint was reported done', async () => {
  const dir = freshDir();
  const writer = fileURLToPath(new URL('./support/update-writer.js', import.meta.url));
  const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done: Array<{ taskId: string; uuid: string }> = [];
  let buffered = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('the writer printed too little')), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const each of lines) {
        const [taskId, uuid] = each.split(' ');
        if (taskId && uuid) done.push({ taskId, uuid });
      }
      if (done.length >= 400) {
        clearTimeout(deadline);
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await exited;
  const reopened = await openManager(dir);
  const recovered = new Map(
    reopened.unacknowledged().map((update) => [update.taskId, update.uuid]),
  );
  for (const each of done) assert.is(recovered.get(each.taskId), each.uuid, each.taskId);
  await reopened.close();
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
