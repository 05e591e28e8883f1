import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusUpdate } from '../../agent/core/updates.js';
import {
  StatusUpdateManager,
  batchesOf,
  newStatusUuid,
  updateBytesEstimate,
  type UpdateBatching,
  type UpdateTransport,
} from '../../agent/status/manager.js';
import { takenUpdates } from '../../agent/status/batch-answer.js';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import type { TaskState, TaskStatus } from '../../protocol/messages/task.js';

class FakeTransport implements UpdateTransport {
  readonly sent: Array<{ atMs: number; update: StatusUpdate }> = [];
  /** The uuids of each call, in order. */
  readonly calls: string[][] = [];
  deliver = true;
  /** Updates the "master" refuses (the call itself is accepted). */
  readonly refuse = new Set<string>();
  /** The call fails as a whole (the master unreachable). */
  fail = false;
  constructor(private readonly clock: ManualClock) {}
  async send(updates: readonly StatusUpdate[]): Promise<readonly boolean[]> {
    this.calls.push(updates.map((update) => update.uuid));
    for (const update of updates) this.sent.push({ atMs: this.clock.nowMs(), update });
    if (this.fail) throw new Error('unreachable');
    return updates.map((update) => this.deliver && !this.refuse.has(update.uuid));
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

async function openManager(
  dir: string,
  clock: ManualClock,
  batching?: UpdateBatching,
): Promise<StatusUpdateManager> {
  return StatusUpdateManager.open({
    dir,
    clock,
    retry: { baseMs: 1000, maxMs: 4000 },
    updatesPerTaskMax: 8,
    journalCompactBytesMin: 4096,
    ...(batching ? { batching } : {}),
    logger: silentLogger,
  });
}

/** A manager on a fresh directory at time 0, connected to a fake master that takes everything. */
async function connectedManager(batching?: UpdateBatching): Promise<{
  dir: string;
  clock: ManualClock;
  transport: FakeTransport;
  manager: StatusUpdateManager;
}> {
  const dir = freshDir();
  const clock = new ManualClock(0);
  const transport = new FakeTransport(clock);
  const manager = await openManager(dir, clock, batching);
  manager.connected(transport);
  return { dir, clock, transport, manager };
}

/** Queues `updates` in one turn (so they may share a call) and waits until they are sent. */
async function updateTogether(
  manager: StatusUpdateManager,
  updates: readonly TaskStatus[],
): Promise<void> {
  await Promise.all(updates.map((each) => manager.update('fw', each)));
  await manager.settled();
}

test('an update is on disk before it is sent, and is retried with backoff until acknowledged', async () => {
  const { dir, clock, transport, manager } = await connectedManager();
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
  const { transport, manager } = await connectedManager();
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

test('updates of several tasks queued in one turn go out in one call', async () => {
  const { transport, manager } = await connectedManager();
  const updates = ['t1', 't2', 't3', 't4'].map((task) => status(task, 'TASK_RUNNING'));
  await updateTogether(manager, updates);
  assert.equal(transport.calls, [updates.map((each) => each.uuid!)]);
  await manager.close();
});

test('a batch whose acknowledgements were lost is resent with the same uuids; an acknowledged update is not', async () => {
  const { clock, transport, manager } = await connectedManager();
  const a = status('t1', 'TASK_RUNNING');
  const b = status('t2', 'TASK_RUNNING');
  await updateTogether(manager, [a, b]);
  assert.equal(transport.calls, [[a.uuid!, b.uuid!]]);
  clock.advanceMs(1000); // no acknowledgement came: both are due again
  await manager.settled();
  assert.equal(transport.calls, [
    [a.uuid!, b.uuid!],
    [a.uuid!, b.uuid!],
  ]);
  await manager.acknowledge('fw', 't1', a.uuid!);
  clock.advanceMs(2000);
  await manager.settled();
  assert.equal(transport.calls.at(-1), [b.uuid!]);
  assert.is(transport.calls.length, 3);
  await manager.close();
});

test('an update the master refuses in a batch is resent; its neighbours are not held back', async () => {
  const { clock, transport, manager } = await connectedManager();
  const a = status('t1', 'TASK_RUNNING');
  const b = status('t2', 'TASK_RUNNING');
  transport.refuse.add(a.uuid!);
  await updateTogether(manager, [a, b]);
  await manager.acknowledge('fw', 't2', b.uuid!);
  const next = status('t2', 'TASK_FINISHED');
  await manager.update('fw', next);
  await manager.settled();
  assert.equal(transport.calls, [[a.uuid!, b.uuid!], [next.uuid!]]);
  transport.refuse.clear();
  clock.advanceMs(1000);
  await manager.settled();
  // a is resent (never acknowledged), with next (whose acknowledgement has not come either).
  assert.equal(transport.calls.at(-1), [a.uuid!, next.uuid!]);
  await manager.close();
});

test('a call that fails as a whole is resent as a whole', async () => {
  const { clock, transport, manager } = await connectedManager();
  transport.fail = true;
  const a = status('t1', 'TASK_RUNNING');
  const b = status('t2', 'TASK_RUNNING');
  await updateTogether(manager, [a, b]);
  transport.fail = false;
  clock.advanceMs(1000);
  await manager.settled();
  assert.equal(transport.calls, [
    [a.uuid!, b.uuid!],
    [a.uuid!, b.uuid!],
  ]);
  await manager.close();
});

test('after a restart the unacknowledged updates of every task go out in one call', async () => {
  const dir = freshDir();
  const clock = new ManualClock(0);
  const first = await openManager(dir, clock);
  const updates = ['t1', 't2', 't3'].map((task) => status(task, 'TASK_FINISHED'));
  for (const each of updates) await first.update('fw', each);
  await first.close();
  const second = await openManager(dir, clock);
  const transport = new FakeTransport(clock);
  second.connected(transport);
  await second.settled();
  assert.equal(transport.calls, [updates.map((each) => each.uuid!)]);
  await second.close();
});

test('calls are bounded by count and by estimated bytes; a window groups updates due within it', async () => {
  const { clock, transport, manager } = await connectedManager({
    windowMs: 5,
    updatesMax: 2,
    bytesMax: 64 * 1024,
  });
  const first = status('t1', 'TASK_RUNNING');
  await manager.update('fw', first);
  clock.advanceMs(3);
  const rest = ['t2', 't3'].map((task) => status(task, 'TASK_RUNNING'));
  for (const each of rest) await manager.update('fw', each);
  assert.is(transport.calls.length, 0, 'nothing goes before the window closes');
  clock.advanceMs(2);
  await manager.settled();
  assert.equal(transport.calls, [[first.uuid!, rest[0]!.uuid!], [rest[1]!.uuid!]]);
  await manager.close();

  const big = (task: string) => ({
    frameworkId: 'fw',
    taskId: task,
    uuid: newStatusUuid(),
    status: { ...status(task, 'TASK_FAILED'), message: 'x'.repeat(4000) },
  });
  const bigOnes = [big('a'), big('b'), big('c')];
  const size = updateBytesEstimate(bigOnes[0]!);
  assert.ok(size >= 16_000, 'a 4000-character message counts at 4 bytes a character');
  const split = batchesOf(bigOnes, { windowMs: 0, updatesMax: 100, bytesMax: size * 2 });
  assert.equal(
    split.map((batch) => batch.length),
    [2, 1],
  );
  // One update larger than the bound still goes, alone.
  assert.equal(
    batchesOf(bigOnes, { windowMs: 0, updatesMax: 100, bytesMax: 1 }).map((b) => b.length),
    [1, 1, 1],
  );
});

test("the master's answer to a batch: empty is all taken, listed indexes refused, unreadable none taken", () => {
  assert.equal(takenUpdates(3, ''), [true, true, true]);
  assert.equal(
    takenUpdates(3, JSON.stringify({ refused: [{ index: 1, code: 'INVALID', message: 'no' }] })),
    [true, false, true],
  );
  assert.equal(takenUpdates(2, '{"refused":'), [false, false]);
  assert.equal(takenUpdates(2, '{"something":"else"}'), [false, false]);
  assert.equal(
    takenUpdates(1, JSON.stringify({ refused: [{ index: 7, code: 'X', message: '' }] })),
    [true],
  );
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
