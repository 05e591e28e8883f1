import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusUpdate } from '../../agent/core/updates.js';
import {
  StatusUpdateManager,
  newStatusUuid,
  type UpdateTransport,
} from '../../agent/status/manager.js';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import type { TaskState, TaskStatus } from '../../protocol/messages/task.js';

class FakeTransport implements UpdateTransport {
  readonly sent: Array<{ atMs: number; update: StatusUpdate }> = [];
  deliver = true;
  constructor(private readonly clock: ManualClock) {}
  async send(update: StatusUpdate): Promise<boolean> {
    this.sent.push({ atMs: this.clock.nowMs(), update });
    return this.deliver;
  }
  uuids(): string[] {
    return this.sent.map((entry) => entry.update.uuid);
  }
}

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-updates-'));
  dirs.push(dir);
  return dir;
}

function status(taskId: string, state: TaskState): TaskStatus {
  return { task_id: { value: taskId }, state, uuid: newStatusUuid() };
}

async function openManager(dir: string, clock: ManualClock): Promise<StatusUpdateManager> {
  return StatusUpdateManager.open({
    dir,
    clock,
    retry: { baseMs: 1000, maxMs: 4000 },
    updatesPerTaskMax: 8,
    journalCompactBytesMin: 4096,
    logger: silentLogger,
  });
}

test('an update is on disk before it is sent, and is retried with backoff until acknowledged', async () => {
  const dir = freshDir();
  const clock = new ManualClock(0);
  const transport = new FakeTransport(clock);
  const manager = await openManager(dir, clock);
  manager.connected(transport);
  const running = status('t1', 'TASK_RUNNING');
  await manager.update('fw', running);
  await manager.settled();
  assert.is(readdirSync(dir).length, 1);
  for (let step = 0; step < 12; step++) {
    clock.advanceMs(1000);
    await manager.settled();
  }
  assert.equal(
    transport.sent.map((entry) => entry.atMs),
    [0, 1000, 3000, 7000, 11000],
  );
  await manager.acknowledge('fw', 't1', running.uuid!);
  clock.advanceMs(60_000);
  await manager.settled();
  assert.is(transport.sent.length, 5);
  await manager.close();
});

test('updates of one task go out in order, each only after the previous is acknowledged', async () => {
  const clock = new ManualClock(0);
  const transport = new FakeTransport(clock);
  const manager = await openManager(freshDir(), clock);
  manager.connected(transport);
  const updates = [
    status('t1', 'TASK_STARTING'),
    status('t1', 'TASK_RUNNING'),
    status('t1', 'TASK_FINISHED'),
  ];
  for (const each of updates) await manager.update('fw', each);
  await manager.update('fw', status('t2', 'TASK_RUNNING'));
  await manager.settled();
  assert.equal(
    transport.sent.map((entry) => entry.update.status.state),
    ['TASK_STARTING', 'TASK_RUNNING'],
  );
  for (const each of updates) {
    await manager.acknowledge('fw', 't1', each.uuid!);
    await manager.settled();
  }
  assert.equal(
    transport.sent
      .filter((entry) => entry.update.taskId === 't1')
      .map((entry) => entry.update.uuid),
    updates.map((each) => each.uuid),
  );
  await manager.close();
});

test('nothing is sent while disconnected; everything waiting goes out on reconnect', async () => {
  const clock = new ManualClock(0);
  const transport = new FakeTransport(clock);
  const manager = await openManager(freshDir(), clock);
  await manager.update('fw', status('t1', 'TASK_RUNNING'));
  clock.advanceMs(10_000);
  await manager.settled();
  assert.is(transport.sent.length, 0);
  manager.connected(transport);
  await manager.settled();
  assert.is(transport.sent.length, 1);
  await manager.close();
});

test('after a restart unacknowledged updates are resent, acknowledged ones are not', async () => {
  const dir = freshDir();
  const clock = new ManualClock(0);
  const first = await openManager(dir, clock);
  first.connected(new FakeTransport(clock));
  const running = status('t1', 'TASK_RUNNING');
  const finished = status('t1', 'TASK_FINISHED');
  const other = status('t2', 'TASK_RUNNING');
  await first.update('fw', running);
  await first.update('fw', finished);
  await first.update('fw', other);
  await first.acknowledge('fw', 't1', running.uuid!);
  await first.settled();
  await first.close();

  const transport = new FakeTransport(clock);
  const second = await openManager(dir, clock);
  assert.equal(
    second.unacknowledged().map((u) => u.uuid),
    [finished.uuid, other.uuid],
  );
  second.connected(transport);
  await second.settled();
  assert.equal(transport.uuids().sort(), [finished.uuid!, other.uuid!].sort());
  await second.acknowledge('fw', 't1', finished.uuid!);
  await second.close();

  const third = await openManager(dir, clock);
  assert.equal(
    third.unacknowledged().map((u) => u.uuid),
    [other.uuid],
  );
  // An ended, acknowledged task is known until the agent has seen it at start-up.
  assert.is(third.latest('fw', 't1')?.uuid, finished.uuid);
  third.releaseRecovered();
  assert.is(third.latest('fw', 't1'), undefined);
  await third.close();
});

test('a terminal update is accepted once: a second terminal update for the task is refused', async () => {
  const dir = freshDir();
  const clock = new ManualClock(0);
  const first = await openManager(dir, clock);
  assert.is(await first.update('fw', status('t1', 'TASK_FAILED')), 'queued');
  await first.close();
  const second = await openManager(dir, clock);
  assert.is(await second.update('fw', status('t1', 'TASK_LOST')), 'after_terminal');
  assert.is(second.unacknowledged().length, 1);
  await second.close();
});

test('a torn last record (a crash mid-write) is ignored on recovery', async () => {
  const dir = freshDir();
  const clock = new ManualClock(0);
  const first = await openManager(dir, clock);
  const running = status('t1', 'TASK_RUNNING');
  await first.update('fw', running);
  await first.close();
  const { appendFileSync } = await import('node:fs');
  const [file] = readdirSync(dir);
  appendFileSync(join(dir, file!), '{"kind":"update","framework_id":"fw","sta');
  const second = await openManager(dir, clock);
  assert.equal(
    second.unacknowledged().map((u) => u.uuid),
    [running.uuid],
  );
  await second.close();
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
