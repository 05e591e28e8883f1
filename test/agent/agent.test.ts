import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { silentLogger } from '../../lib/log.js';
import { generateIdentity } from '../../protocol/keys/identity.js';
import type { TaskInfo } from '../../protocol/messages/task.js';
import { eventually, FakeMaster } from './support/fake-master.js';
import { programBytes } from '../support/programs.js';

const hello = programBytes('hello');

const master = new FakeMaster();
const identity = generateIdentity();
const workDir = mkdtempSync(join(tmpdir(), 'wasmos-agent-'));
let agent: RunningAgent;
let digest = '';

function task(taskId: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: agent.agentId ?? 'unknown' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
    ],
    wasm: { digest },
    ...extra,
  };
}

const updatesOf = (taskId: string) =>
  master.statusUpdates().filter((update) => update.status.task_id.value === taskId);

test.before(async () => {
  await master.start();
  master.trustAgent(identity);
  digest = master.addBlob(hello);
  agent = await startAgent({
    masterUrl: master.url,
    workDir,
    trust: master.masterTrust(),
    identity,
    resources: { cpus: 2, mem: 1024 },
    runtimes: ['wasm'],
    logger: silentLogger,
    limits: {
      reconnectBackoffBaseMs: 20,
      reconnectBackoffMaxMs: 100,
      updateRetryBaseMs: 150,
      updateRetryMaxMs: 600,
    },
  });
});

test('the agent registers with its resources and runtimes', async () => {
  const register = await eventually('REGISTER', () =>
    master.calls.find((each) => each.call.type === 'REGISTER'),
  );
  assert.ok(register.call.type === 'REGISTER');
  assert.equal(register.call.register.agent_info.runtimes, ['wasm']);
  assert.equal(register.call.register.unavailable_runtimes, [
    {
      runtime: 'linux',
      cause: 'disabled',
      reason: "not in the agent's runtimes (--runtimes wasm)",
    },
  ]);
  assert.equal(agent.unavailableRuntimes, register.call.register.unavailable_runtimes);
  const cpus = register.call.register.agent_info.resources.find(
    (resource) => resource.name === 'cpus',
  );
  assert.is(cpus?.scalar?.value, 2);
  await eventually('agent id', () => agent.agentId);
});

test('a launched task reports RUNNING, then (after the ack) FINISHED with its result', async () => {
  master.send({ type: 'LAUNCH', launch: { framework_id: { value: 'fw' }, task: task('hello-1') } });
  const running = await eventually('RUNNING', () => updatesOf('hello-1')[0]);
  assert.is(running.status.state, 'TASK_RUNNING');
  assert.is(running.agent_id.value, agent.agentId);
  master.acknowledge(running);
  const finished = await eventually('FINISHED', () =>
    updatesOf('hello-1').find((u) => u.status.state !== 'TASK_RUNNING'),
  );
  assert.is(finished.status.state, 'TASK_FINISHED');
  assert.is(finished.status.exit_code, 0);
  assert.ok((finished.status.fuel_consumed ?? 0) > 0, 'fuel consumed');
  assert.ok((finished.status.peak_memory_bytes ?? 0) > 0, 'peak memory');
  assert.ok(finished.status.duration_ms !== undefined, 'duration');
  master.acknowledge(finished);
  await eventually('all acknowledged', () =>
    agent.snapshot().unacknowledgedUpdates === 0 ? true : undefined,
  );
  // The task's resources are freed once its record is off disk, just after the terminal update.
  await eventually('resources released', () =>
    agent.snapshot().used.cpus === 0 ? true : undefined,
  );
  assert.equal(agent.snapshot().used, { cpus: 0, memMiB: 0, diskMiB: 0 });
});

test('a task log is served over the channel on LOGS_REQUEST', async () => {
  master.send({
    type: 'LOGS_REQUEST',
    logs_request: {
      request_id: 'r1',
      framework_id: { value: 'fw' },
      task_id: { value: 'hello-1' },
      stream: 'stdout',
      offset: 0,
      length: 1000,
    },
  });
  const logs = await eventually('LOGS', () =>
    master.calls.find((each) => each.call.type === 'LOGS'),
  );
  assert.ok(logs.call.type === 'LOGS');
  assert.is(Buffer.from(logs.call.logs.data, 'base64').toString(), 'hello from wasm\n');
  assert.is(logs.call.logs.complete, true);
});

test('an unacknowledged update is resent with the same uuid until acknowledged', async () => {
  master.send({ type: 'LAUNCH', launch: { framework_id: { value: 'fw' }, task: task('hello-2') } });
  const resent = await eventually('RUNNING resent', () =>
    updatesOf('hello-2').length >= 2 ? updatesOf('hello-2') : undefined,
  );
  assert.is(resent[0]!.status.uuid, resent[1]!.status.uuid);
  assert.ok(
    resent.every((update) => update.status.state === 'TASK_RUNNING'),
    'FINISHED waits for the RUNNING ack',
  );
  master.acknowledge(resent[0]!);
  const finished = await eventually('FINISHED', () =>
    updatesOf('hello-2').find((u) => u.status.state === 'TASK_FINISHED'),
  );
  master.acknowledge(finished);
});

test('a component download that fails on the way is retried, and the task runs', async () => {
  const argsEcho = new Uint8Array(programBytes('args-echo'));
  const digest = master.addBlob(argsEcho);
  master.blobFailuresLeft = 2;
  const requestsBefore = master.blobRequests;
  master.send({
    type: 'LAUNCH',
    launch: { framework_id: { value: 'fw' }, task: task('retried', { wasm: { digest } }) },
  });
  const running = await eventually('RUNNING', () => updatesOf('retried')[0]);
  assert.is(running.status.state, 'TASK_RUNNING');
  assert.is(master.blobRequests - requestsBefore, 3, 'two failed downloads, then one that worked');
  master.acknowledge(running);
  const finished = await eventually('FINISHED', () =>
    updatesOf('retried').find((u) => u.status.state !== 'TASK_RUNNING'),
  );
  assert.is(finished.status.state, 'TASK_FINISHED');
  master.acknowledge(finished);
});

test('a task whose component does not match its digest fails with REASON_WASM_INVALID', async () => {
  master.send({
    type: 'LAUNCH',
    launch: {
      framework_id: { value: 'fw' },
      task: task('bad', { wasm: { digest: `sha256:${'a'.repeat(64)}` } }),
    },
  });
  const failed = await eventually('FAILED', () => updatesOf('bad')[0]);
  assert.is(failed.status.state, 'TASK_FAILED');
  assert.is(failed.status.reason, 'REASON_WASM_INVALID');
  master.acknowledge(failed);
});

test('a launch that would over-commit the agent is refused', async () => {
  const big = task('too-big', {
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 3 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
    ],
  });
  master.send({ type: 'LAUNCH', launch: { framework_id: { value: 'fw' }, task: big } });
  const refused = await eventually('refusal', () => updatesOf('too-big')[0]);
  assert.is(refused.status.state, 'TASK_DROPPED');
  master.acknowledge(refused);
});

test('when the stream drops the agent re-registers with its agent id', async () => {
  const before = master.calls.filter((each) => each.call.type === 'REREGISTER').length;
  master.dropStream();
  const reregister = await eventually(
    'REREGISTER',
    () => master.calls.filter((each) => each.call.type === 'REREGISTER')[before],
  );
  assert.ok(reregister.call.type === 'REREGISTER');
  assert.is(reregister.call.reregister.agent_id.value, agent.agentId);
  await eventually('connected again', () => (agent.snapshot().connected ? true : undefined));
});

test('a kill ends a running task with TASK_KILLED', async () => {
  const loop = master.addBlob(programBytes('infinite-loop'));
  master.send({
    type: 'LAUNCH',
    launch: { framework_id: { value: 'fw' }, task: task('spin', { wasm: { digest: loop } }) },
  });
  const running = await eventually('RUNNING', () => updatesOf('spin')[0]);
  master.acknowledge(running);
  master.send({
    type: 'KILL',
    kill: { framework_id: { value: 'fw' }, task_id: { value: 'spin' } },
  });
  const killed = await eventually('KILLED', () =>
    updatesOf('spin').find((u) => u.status.state !== 'TASK_RUNNING'),
  );
  assert.is(killed.status.state, 'TASK_KILLED');
  master.acknowledge(killed);
});

test('updates of several tasks travel in STATUS_UPDATES; one ACKNOWLEDGE_UPDATES acknowledges several', async () => {
  const ids = ['batch-1', 'batch-2', 'batch-3'];
  for (const id of ids)
    master.send({ type: 'LAUNCH', launch: { framework_id: { value: 'fw' }, task: task(id) } });
  const running = await eventually('three RUNNING', () => {
    const firsts = ids.map((id) => updatesOf(id)[0]);
    return firsts.every((each) => each !== undefined) ? firsts.map((each) => each!) : undefined;
  });
  const carriers = master.calls.filter(
    (each) =>
      (each.call.type === 'STATUS_UPDATE' || each.call.type === 'STATUS_UPDATES') &&
      JSON.stringify(each.call).includes('batch-'),
  );
  assert.ok(
    carriers.every((each) => each.call.type === 'STATUS_UPDATES'),
    'a master that takes batches gets STATUS_UPDATES',
  );
  master.acknowledgeAll(running);
  const finished = await eventually('three FINISHED', () => {
    const ends = ids.map((id) => updatesOf(id).find((u) => u.status.state === 'TASK_FINISHED'));
    return ends.every((each) => each !== undefined) ? ends.map((each) => each!) : undefined;
  });
  master.acknowledgeAll(finished);
  await eventually('all acknowledged', () =>
    agent.snapshot().unacknowledgedUpdates === 0 ? true : undefined,
  );
});

test('an update the master refuses in a batch is resent, with the same uuid', async () => {
  master.refuseTasks.add('refused-1');
  master.send({
    type: 'LAUNCH',
    launch: { framework_id: { value: 'fw' }, task: task('refused-1') },
  });
  const twice = await eventually('RUNNING sent twice', () =>
    updatesOf('refused-1').length >= 2 ? updatesOf('refused-1') : undefined,
  );
  assert.is(twice[0]!.status.uuid, twice[1]!.status.uuid);
  master.refuseTasks.clear();
  master.acknowledge(twice[0]!);
  const finished = await eventually('FINISHED', () =>
    updatesOf('refused-1').find((u) => u.status.state === 'TASK_FINISHED'),
  );
  master.acknowledge(finished);
  await eventually('all acknowledged', () =>
    agent.snapshot().unacknowledgedUpdates === 0 ? true : undefined,
  );
});

test('a master that refuses STATUS_UPDATES (an older version) gets updates one STATUS_UPDATE each', async () => {
  master.takesBatches = false;
  master.send({ type: 'LAUNCH', launch: { framework_id: { value: 'fw' }, task: task('older-1') } });
  const single = await eventually('a single STATUS_UPDATE', () =>
    master.calls.find(
      (each) =>
        each.call.type === 'STATUS_UPDATE' &&
        each.call.status_update.update.status.task_id.value === 'older-1',
    ),
  );
  assert.ok(single.call.type === 'STATUS_UPDATE');
  master.acknowledge(single.call.status_update.update);
  const finished = await eventually('FINISHED', () =>
    updatesOf('older-1').find((u) => u.status.state === 'TASK_FINISHED'),
  );
  master.acknowledge(finished);
  await eventually('all acknowledged', () =>
    agent.snapshot().unacknowledgedUpdates === 0 ? true : undefined,
  );
  master.takesBatches = true;
});

test.after(async () => {
  await agent.stop();
  await master.stop();
  rmSync(workDir, { recursive: true, force: true });
});

test.run();
