import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelayMs } from '../../agent/core/backoff.js';
import { TaskTable } from '../../agent/core/tasks.js';
import { terminalFields } from '../../agent/core/termination.js';
import { UpdateQueues, type StatusUpdate } from '../../agent/core/updates.js';
import type { TaskInfo, TaskState } from '../../protocol/messages/task.js';

const retry = { baseMs: 1000, maxMs: 8000 };

function update(taskId: string, uuid: string, state: TaskState = 'TASK_RUNNING'): StatusUpdate {
  return { frameworkId: 'fw', taskId, uuid, status: { task_id: { value: taskId }, state, uuid } };
}

function wasmTask(taskId: string, cpus: number, mem: number): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'a1' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
      { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
    ],
    wasm: { digest: `sha256:${'0'.repeat(64)}` },
  };
}

test('backoff doubles from the base, stops at the cap, and jitter only adds up to half', () => {
  assert.equal(
    [0, 1, 2, 3, 4, 10].map((n) => backoffDelayMs(n, 100, 1000)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.is(backoffDelayMs(2, 100, 1000, 0.999), 600);
  assert.is(backoffDelayMs(5000, 100, 1000), 1000);
});

test('only the front update of a task is due, and the next goes only after its acknowledgement', () => {
  const queues = new UpdateQueues(retry, 8);
  queues.add(update('t1', 'u1'), 0);
  queues.add(update('t1', 'u2', 'TASK_FINISHED'), 0);
  assert.equal(
    queues.due(0).map((u) => u.uuid),
    ['u1'],
  );
  queues.sent(update('t1', 'u1'), 0);
  assert.equal(queues.due(0), []);
  assert.is(queues.acknowledge('fw', 't1', 'u1').kind, 'acknowledged');
  assert.equal(
    queues.due(0).map((u) => u.uuid),
    ['u2'],
  );
});

test('an unacknowledged update is retried with doubling intervals up to the cap', () => {
  const queues = new UpdateQueues(retry, 8);
  const first = update('t1', 'u1');
  queues.add(first, 0);
  const sendTimes: number[] = [];
  for (let nowMs = 0; nowMs <= 40_000; nowMs += 500) {
    for (const due of queues.due(nowMs)) {
      sendTimes.push(nowMs);
      queues.sent(due, nowMs);
    }
  }
  assert.equal(sendTimes, [0, 1000, 3000, 7000, 15000, 23000, 31000, 39000]);
});

test('acknowledgements of anything but the front update are ignored', () => {
  const queues = new UpdateQueues(retry, 8);
  queues.add(update('t1', 'u1'), 0);
  queues.add(update('t1', 'u2'), 0);
  assert.is(queues.acknowledge('fw', 't1', 'u2').kind, 'not_front');
  assert.is(queues.acknowledge('fw', 'other', 'u1').kind, 'unknown_task');
  assert.equal(
    queues.unacknowledged().map((u) => u.uuid),
    ['u1', 'u2'],
  );
});

test('nothing is queued after a terminal update, and a task queue is bounded', () => {
  const queues = new UpdateQueues(retry, 2);
  assert.is(queues.add(update('t1', 'u1'), 0), 'queued');
  assert.is(queues.add(update('t1', 'u2'), 0), 'queued');
  assert.is(queues.add(update('t1', 'u3'), 0), 'full');
  queues.add(update('t2', 'v1', 'TASK_FAILED'), 0);
  assert.is(queues.add(update('t2', 'v2'), 0), 'after_terminal');
});

test('acknowledging the terminal update ends the task stream', () => {
  const queues = new UpdateQueues(retry, 8);
  queues.add(update('t1', 'u1', 'TASK_FINISHED'), 0);
  const outcome = queues.acknowledge('fw', 't1', 'u1');
  assert.ok(outcome.kind === 'acknowledged' && outcome.streamDone);
  assert.is(queues.tasks, 0);
  assert.is(queues.nextDueMs(), undefined);
});

test('after a reconnect every waiting update is due at once', () => {
  const queues = new UpdateQueues(retry, 8);
  queues.add(update('t1', 'u1'), 0);
  queues.add(update('t2', 'v1'), 0);
  for (const due of queues.due(0)) queues.sent(due, 0);
  assert.equal(queues.due(10), []);
  queues.resetRetries(10);
  assert.equal(
    queues.due(10).map((u) => u.uuid),
    ['u1', 'v1'],
  );
});

test('the task table refuses a launch that would over-commit the agent and changes nothing', () => {
  const table = new TaskTable({ cpus: 1, memMiB: 256, diskMiB: 0 }, new Set(['wasm']), 10);
  for (const id of ['a', 'b', 'c']) {
    const decision = table.decide('fw', wasmTask(id, 0.1 + 0.2, 64));
    assert.is(decision.kind, 'accept');
    if (decision.kind === 'accept')
      table.add({
        frameworkId: 'fw',
        taskId: id,
        info: wasmTask(id, 0.3, 64),
        containerId: id,
        runtime: 'wasm',
        resources: decision.resources,
        state: 'TASK_STAGING',
      });
  }
  const refused = table.decide('fw', wasmTask('d', 0.2, 64));
  assert.is(refused.kind, 'reject');
  assert.equal(table.used(), { cpus: 0.9, memMiB: 192, diskMiB: 0 });
  table.release('fw', 'a');
  assert.is(table.decide('fw', wasmTask('d', 0.2, 64)).kind, 'accept', 'released: room again');
  assert.ok(table.get('fw', 'a'), 'a released task stays known until removed');
  table.remove('fw', 'a');
  assert.equal(table.used(), { cpus: 0.6, memMiB: 128, diskMiB: 0 }, 'removal frees nothing twice');
});

test('the task table refuses unknown runtimes, duplicate ids and wasm tasks without memory', () => {
  const table = new TaskTable({ cpus: 4, memMiB: 4096, diskMiB: 0 }, new Set(['wasm']), 10);
  const linux: TaskInfo = { ...wasmTask('l', 1, 64), wasm: undefined, command: { value: 'true' } };
  const runtime = table.decide('fw', linux);
  assert.ok(runtime.kind === 'reject' && runtime.reason === 'REASON_RUNTIME_UNAVAILABLE');
  const noMemory = table.decide('fw', wasmTask('m', 1, 0));
  assert.ok(noMemory.kind === 'reject' && noMemory.reason === 'REASON_TASK_INVALID');
  table.add({
    frameworkId: 'fw',
    taskId: 'x',
    info: wasmTask('x', 1, 64),
    containerId: 'c',
    runtime: 'wasm',
    resources: { cpus: 1, memMiB: 64, diskMiB: 0 },
    state: 'TASK_RUNNING',
  });
  assert.is(table.decide('fw', wasmTask('x', 1, 64)).kind, 'reject');
  assert.is(table.decide('other-fw', wasmTask('x', 1, 64)).kind, 'accept');
});

test('terminations map to terminal states with exit code, reason, fuel, memory and duration', () => {
  const base = { message: 'm', durationMs: 12.4, fuelConsumed: 99, peakMemoryBytes: 65536 };
  assert.equal(terminalFields({ ...base, exitCode: 0, reason: 'exited' }, false), {
    state: 'TASK_FINISHED',
    message: 'm',
    duration_ms: 12,
    fuel_consumed: 99,
    peak_memory_bytes: 65536,
    exit_code: 0,
  });
  const failed = terminalFields({ ...base, exitCode: 3, reason: 'exited' }, false);
  assert.is(failed.state, 'TASK_FAILED');
  assert.is(failed.exit_code, 3);
  const fuel = terminalFields({ ...base, exitCode: null, reason: 'fuel_exhausted' }, false);
  assert.is(fuel.reason, 'REASON_FUEL_EXHAUSTED');
  assert.is(fuel.exit_code, undefined);
  assert.is(
    terminalFields({ ...base, exitCode: null, reason: 'memory_limit' }, false).reason,
    'REASON_CONTAINER_LIMITATION_MEMORY',
  );
  assert.is(terminalFields({ ...base, exitCode: null, reason: 'trap' }, true).state, 'TASK_KILLED');
  const lost = terminalFields({ ...base, exitCode: null, reason: 'lost' }, true);
  assert.is(lost.state, 'TASK_LOST');
  assert.is(lost.reason, 'REASON_AGENT_RESTARTED');
});

test.run();
