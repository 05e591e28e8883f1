import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRegistry, encodeRegistry } from '../../../master/core/registry.js';
import { Resources } from '../../../master/core/resources.js';
import type { TaskStatusView } from '../../../master/core/tasks.js';
import { MasterHarness } from './master-harness.js';

function updates(h: MasterHarness, frameworkId: string): TaskStatusView[] {
  return h
    .eventsFor(frameworkId)
    .flatMap((event) => (event.type === 'update' ? [event.status] : []));
}

function running(
  h: MasterHarness,
  agentId: string,
  frameworkId: string,
  taskId: string,
  uuid: string,
  state: TaskStatusView['state'] = 'TASK_RUNNING',
) {
  return h.step({
    kind: 'statusUpdate',
    keyId: 'key-h1',
    agentId,
    update: { frameworkId, taskId, state, uuid, source: 'SOURCE_EXECUTOR', timestampMs: h.nowMs },
  });
}

function setup(options = {}) {
  const h = new MasterHarness(options);
  const agentId = h.register();
  const frameworkId = h.subscribe();
  h.tick();
  const offer = h.lastOffers(frameworkId)[0]!;
  return { h, agentId, frameworkId, offer };
}

test('a registering agent is persisted before it is told its id', () => {
  const h = new MasterHarness();
  const agentId = h.register();
  const batch = h.batches[0]!;
  assert.ok(batch.persist, 'the batch carries a registry to persist');
  assert.equal(
    batch.persist.agents.map((agent) => agent.id),
    [agentId],
  );
  assert.equal(batch.toAgents[0]!.message.type, 'registered');
});

test('a subscribed framework is offered the agent on the next tick', () => {
  const { h, frameworkId, agentId, offer } = setup();
  assert.is(h.eventsFor(frameworkId)[0]!.type, 'subscribed');
  assert.is(offer.agentId, agentId);
  assert.ok(offer.resources.equals(Resources.of({ cpus: 4, mem: 4096 })));
});

test('accept launches on the agent and returns the rest under a filter', () => {
  const { h, frameworkId, agentId, offer } = setup();
  assert.ok(h.launch(frameworkId, 's1', offer.id, [{}]).ok);
  const launch = h.messagesFor(agentId).find((message) => message.type === 'launch');
  assert.ok(launch && launch.type === 'launch' && launch.taskId === 't0');
  const agent = h.core.view().agents.get(agentId)!;
  assert.ok(agent.used.equals(Resources.of({ cpus: 1, mem: 128 })));
  h.tick(1000);
  assert.is(h.core.lastPlan!.skipped.filtered, 1, 'the 5 s default filter holds at 1 s');
  h.tick(5000);
  assert.is(h.lastOffers(frameworkId).length, 1, 're-offered after the filter');
});

test('a task needing a runtime the agent lacks is refused with TASK_ERROR and a reason', () => {
  const { h, frameworkId, offer } = setup();
  h.launch(frameworkId, 's1', offer.id, [{ runtime: 'linux' }]);
  const status = updates(h, frameworkId)[0]!;
  assert.is(status.state, 'TASK_ERROR');
  assert.is(status.reason, 'REASON_TASK_INVALID');
  assert.match(status.message ?? '', /cannot run linux/);
});

test('an unknown offer drops the tasks (partition-aware) and changes nothing else', () => {
  const { h, frameworkId } = setup();
  h.launch(frameworkId, 's1', 'no-such-offer', [{}]);
  const status = updates(h, frameworkId)[0]!;
  assert.is(status.state, 'TASK_DROPPED');
  assert.is(status.reason, 'REASON_INVALID_OFFERS');
});

test('duplicate task ids and oversized tasks get TASK_ERROR', () => {
  const { h, frameworkId, offer } = setup();
  h.launch(frameworkId, 's1', offer.id, [
    { taskId: 'a' },
    { taskId: 'a' },
    { taskId: 'b', resources: Resources.of({ cpus: 8 }) },
  ]);
  assert.equal(
    updates(h, frameworkId).map((status) => [status.taskId, status.state]),
    [
      ['a', 'TASK_ERROR'],
      ['b', 'TASK_ERROR'],
    ],
  );
});

test('a call on a stale stream is refused with wrong_stream', () => {
  const { h, frameworkId } = setup();
  const result = h.step({ kind: 'revive', frameworkId, streamId: 'other' });
  assert.is(!result.ok && result.error.code, 'wrong_stream');
});

test('too many tasks in one accept is a limit error and launches nothing', () => {
  const { h, frameworkId, offer, agentId } = setup({ limits: { tasksPerAcceptMax: 1 } });
  const result = h.launch(frameworkId, 's1', offer.id, [{ taskId: 'a' }, { taskId: 'b' }]);
  assert.is(!result.ok && result.error.limit?.name, 'tasksPerAcceptMax');
  assert.is(h.messagesFor(agentId).filter((message) => message.type === 'launch').length, 0);
  assert.ok(h.core.view().offers.has(offer.id), 'the offer is still outstanding');
});

test('status updates are forwarded, duplicates re-forwarded, acks go to the agent', () => {
  const { h, frameworkId, offer, agentId } = setup();
  h.launch(frameworkId, 's1', offer.id, [{}]);
  running(h, agentId, frameworkId, 't0', 'u1');
  running(h, agentId, frameworkId, 't0', 'u1');
  assert.is(updates(h, frameworkId).filter((status) => status.uuid === 'u1').length, 2);
  h.step({ kind: 'acknowledge', frameworkId, streamId: 's1', agentId, taskId: 't0', uuid: 'nope' });
  h.step({ kind: 'acknowledge', frameworkId, streamId: 's1', agentId, taskId: 't0', uuid: 'u1' });
  const acks = h.messagesFor(agentId).filter((message) => message.type === 'acknowledgeUpdate');
  assert.equal(acks, [{ type: 'acknowledgeUpdate', frameworkId, taskId: 't0', uuid: 'u1' }]);
});

test('a terminal update frees resources at once; the ack moves the task to completed', () => {
  const { h, frameworkId, offer, agentId } = setup();
  h.launch(frameworkId, 's1', offer.id, [{}]);
  running(h, agentId, frameworkId, 't0', 'u1');
  running(h, agentId, frameworkId, 't0', 'u2', 'TASK_FINISHED');
  const view = h.core.view();
  assert.ok(view.agents.get(agentId)!.used.isEmpty());
  assert.ok(view.frameworks.get(frameworkId)!.tasks.has('t0'), 'kept until acknowledged');
  h.step({ kind: 'acknowledge', frameworkId, streamId: 's1', agentId, taskId: 't0', uuid: 'u2' });
  assert.not.ok(view.frameworks.get(frameworkId)!.tasks.has('t0'));
  assert.is(view.frameworks.get(frameworkId)!.completed[0]!.state, 'TASK_FINISHED');
  // A late RUNNING retry for a terminal task is acknowledged by the master, not forwarded.
  const before = updates(h, frameworkId).length;
  running(h, agentId, frameworkId, 't0', 'u1');
  assert.is(updates(h, frameworkId).length, before);
});

test('explicit reconciliation answers per Mesos rules; implicit lists every task', () => {
  const { h, frameworkId, offer, agentId } = setup();
  h.launch(frameworkId, 's1', offer.id, [{}]);
  h.step({
    kind: 'reconcile',
    frameworkId,
    streamId: 's1',
    tasks: [{ taskId: 't0' }, { taskId: 'x', agentId }, { taskId: 'y' }],
  });
  assert.equal(
    updates(h, frameworkId).map((status) => status.state),
    ['TASK_STAGING', 'TASK_GONE', 'TASK_UNKNOWN'],
  );
  h.step({ kind: 'reconcile', frameworkId, streamId: 's1', tasks: [] });
  assert.is(updates(h, frameworkId).length, 4);
});

test('a silent agent becomes unreachable: offers rescinded, tasks unreachable', () => {
  const { h, frameworkId, offer, agentId } = setup();
  h.launch(frameworkId, 's1', offer.id, [{}]);
  h.tick(16_000);
  assert.is(h.core.view().agents.get(agentId)!.status, 'unreachable');
  assert.is(h.registry!.agents[0]!.status, 'unreachable');
  assert.ok(updates(h, frameworkId).some((status) => status.state === 'TASK_UNREACHABLE'));
  assert.ok(h.eventsFor(frameworkId).some((event) => event.type === 'failure'));
});

test('a disconnected framework keeps its tasks until the failover timeout, then they are killed', () => {
  const { h, frameworkId, offer, agentId } = setup();
  h.launch(frameworkId, 's1', offer.id, [{}]);
  h.step({ kind: 'frameworkDisconnected', frameworkId, streamId: 's1' });
  assert.is(h.registry!.frameworks[0]!.failoverDeadlineMs, 10_000);
  h.step({ kind: 'agentHeartbeat', keyId: 'key-h1', agentId });
  h.tick(9_000);
  assert.ok(h.core.view().frameworks.has(frameworkId));
  h.step({ kind: 'agentHeartbeat', keyId: 'key-h1', agentId });
  h.tick(1_000);
  assert.not.ok(h.core.view().frameworks.has(frameworkId));
  assert.ok(h.messagesFor(agentId).some((message) => message.type === 'shutdownFramework'));
  // The task's resources stay held until the agent reports it ended, so nothing is offered twice.
  assert.not.ok(h.core.view().agents.get(agentId)!.used.isEmpty());
  running(h, agentId, frameworkId, 't0', 'k1', 'TASK_KILLED');
  assert.ok(h.core.view().agents.get(agentId)!.used.isEmpty());
});

test('resubscribing with the id fails over: old stream errored and closed', () => {
  const { h, frameworkId } = setup();
  const again = h.subscribe('s2', { id: frameworkId });
  assert.is(again, frameworkId);
  const last = h.batches[h.batches.length - 1]!;
  assert.equal(last.closeStreams, [{ frameworkId, streamId: 's1' }]);
  assert.ok(
    last.toFrameworks.some(
      (delivery) => delivery.streamId === 's1' && delivery.event.type === 'error',
    ),
  );
});

test('a master restart rebuilds tasks from re-registering agents and times out the rest', () => {
  const { h, frameworkId, offer, agentId } = setup();
  const other = h.register('h2');
  h.launch(frameworkId, 's1', offer.id, [{}]);
  const registry = decodeRegistry(encodeRegistry(h.registry!));
  assert.ok(registry.ok);
  h.nowMs += 100;
  h.boot(registry.value);
  const view = h.core.view();
  assert.is(view.agents.get(agentId)!.status, 'recovering');
  const reregistered = h.step({
    kind: 'reregisterAgent',
    keyId: 'key-h1',
    agentId,
    agent: {
      hostname: 'h1',
      resources: Resources.of({ cpus: 4, mem: 4096 }),
      runtimes: ['wasm'],
      attributes: {},
    },
    tasks: [
      {
        frameworkId,
        taskId: 't0',
        name: 'task',
        state: 'TASK_RUNNING',
        resources: Resources.of({ cpus: 1, mem: 128 }),
        runtime: 'wasm',
      },
    ],
  });
  assert.ok(reregistered.ok);
  assert.is(view.frameworks.get(frameworkId)!.tasks.get('t0')!.state, 'TASK_RUNNING');
  assert.ok(view.agents.get(agentId)!.used.equals(Resources.of({ cpus: 1, mem: 128 })));
  h.subscribe('s3', { id: frameworkId });
  h.tick(61_000);
  assert.is(view.agents.get(other)!.status, 'unreachable');
  assert.ok(view.frameworks.has(frameworkId), 'the framework resubscribed in time');
});

test('re-registration with a different key is refused and changes nothing', () => {
  const { h, agentId } = setup();
  const result = h.step({
    kind: 'reregisterAgent',
    keyId: 'intruder',
    agentId,
    agent: {
      hostname: 'h1',
      resources: Resources.of({ cpus: 4 }),
      runtimes: ['wasm'],
      attributes: {},
    },
    tasks: [],
  });
  assert.is(!result.ok && result.error.code, 'key_mismatch');
});

test('an offer times out and is rescinded', () => {
  const { h, frameworkId, offer } = setup({ timings: { offerTimeoutMs: 2000 } });
  h.tick(2000);
  assert.ok(
    h
      .eventsFor(frameworkId)
      .some((event) => event.type === 'rescind' && event.offerId === offer.id),
  );
});

test('weights and jobs are persisted; bad weights are refused', () => {
  const h = new MasterHarness();
  assert.ok(h.step({ kind: 'updateWeights', weights: { batch: 2 } }).ok);
  assert.ok(h.step({ kind: 'putJob', jobId: 'j1', record: { state: 'queued' } }).ok);
  assert.equal(h.registry!.weights, { batch: 2 });
  assert.equal(h.registry!.jobs, { j1: { state: 'queued' } });
  const bad = h.step({ kind: 'updateWeights', weights: { batch: -1 } });
  assert.is(!bad.ok && bad.error.code, 'invalid');
  assert.is(decodeRegistry({ format: 1 }).ok, false);
});

test('resources freed where a framework holds an offer join that offer when it is answered', () => {
  const { h, agentId, frameworkId, offer } = setup({ timings: { allocationIntervalMs: 1000 } });
  const offersSoFar = () => h.eventsFor(frameworkId).filter((e) => e.type === 'offers').length;
  const accepted = h.step({
    kind: 'accept',
    frameworkId,
    streamId: 's1',
    offerIds: [offer.id],
    refuseMs: 0,
    launches: ['a', 'b'].map((taskId) => ({
      taskId,
      name: 'task',
      resources: Resources.of({ cpus: 1, mem: 128 }),
      runtime: 'wasm' as const,
      payload: { digest: 'sha256:x' },
    })),
  });
  assert.ok(accepted.ok);
  h.tick(1);
  const held = h.lastOffers(frameworkId)[0]!;
  assert.ok(held.resources.equals(Resources.of({ cpus: 2, mem: 4096 - 256 })));
  // Task a ends: its resources are free, but the framework holds an offer on that agent.
  assert.ok(running(h, agentId, frameworkId, 'a', 'u1', 'TASK_FINISHED').ok);
  const before = offersSoFar();
  h.tick(1);
  assert.is(offersSoFar(), before, 'no small offer of its own for what task a freed');
  assert.ok((h.core.lastPlan?.skipped.holds_offer ?? 0) >= 1);
  // Answering the held offer makes one offer of everything free on the agent.
  assert.ok(
    h.step({ kind: 'decline', frameworkId, streamId: 's1', offerIds: [held.id], refuseMs: 0 }).ok,
  );
  h.tick(1);
  assert.is(offersSoFar(), before + 1);
  const whole = h.lastOffers(frameworkId)[0]!;
  assert.ok(whole.resources.equals(Resources.of({ cpus: 3, mem: 4096 - 128 })));
  // Not answered, a held offer waits at most until the periodic run for what was freed.
  assert.ok(running(h, agentId, frameworkId, 'b', 'u2', 'TASK_FINISHED').ok);
  h.tick(1);
  assert.is(offersSoFar(), before + 1);
  h.tick(1000);
  assert.is(offersSoFar(), before + 2);
  assert.ok(h.lastOffers(frameworkId)[0]!.resources.equals(Resources.of({ cpus: 1, mem: 128 })));
});

test.run();
