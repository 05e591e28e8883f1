import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentStatusUpdate, ReportedTask } from '../../../master/core/messages.js';
import { decodeRegistry, encodeRegistry } from '../../../master/core/registry.js';
import { Resources } from '../../../master/core/resources.js';
import type { TaskStatusView } from '../../../master/core/tasks.js';
import { MasterHarness } from './master-harness.js';

/**
 * An agent re-registers without a task that ended while its terminal update was unacknowledged
 * (the agent keeps it only in its update stream). The master must not report TASK_GONE for it:
 * the framework must get the real terminal update.
 */

const spec = {
  hostname: 'h1',
  resources: Resources.of({ cpus: 4, mem: 4096 }),
  runtimes: ['wasm' as const],
  attributes: {},
};

function setupRunning() {
  const h = new MasterHarness();
  const agentId = h.register();
  const frameworkId = h.subscribe();
  h.tick();
  const offer = h.lastOffers(frameworkId)[0]!;
  assert.ok(h.launch(frameworkId, 's1', offer.id, [{}]).ok);
  const update = { ...finished(frameworkId, 'u-run'), state: 'TASK_RUNNING' as const };
  assert.ok(h.step({ kind: 'statusUpdate', keyId: 'key-h1', agentId, update }).ok);
  acknowledge(h, frameworkId, 's1', agentId, 'u-run');
  return { h, agentId, frameworkId };
}

function finished(frameworkId: string, uuid: string): AgentStatusUpdate {
  return {
    frameworkId,
    taskId: 't0',
    state: 'TASK_FINISHED',
    uuid,
    source: 'SOURCE_EXECUTOR',
    timestampMs: 5,
    exitCode: 0,
    fuelConsumed: 1234,
    peakMemoryBytes: 65_536,
    durationMs: 7,
  };
}

function updates(h: MasterHarness, frameworkId: string): TaskStatusView[] {
  return h
    .eventsFor(frameworkId)
    .flatMap((event) => (event.type === 'update' ? [event.status] : []));
}

/** The framework acknowledges t0's update `uuid`, on its stream `streamId`. */
function acknowledge(
  h: MasterHarness,
  frameworkId: string,
  streamId: string,
  agentId: string,
  uuid: string,
) {
  return h.step({ kind: 'acknowledge', frameworkId, streamId, agentId, taskId: 't0', uuid });
}

/** Whether the master has passed the acknowledgement of `uuid` on to the agent. */
function acknowledgedToAgent(h: MasterHarness, agentId: string, uuid: string): boolean {
  return h
    .messagesFor(agentId)
    .some((message) => message.type === 'acknowledgeUpdate' && message.uuid === uuid);
}

/** The agent sends (or resends) t0's terminal update `uuid`. */
function sendFinished(h: MasterHarness, agentId: string, frameworkId: string, uuid: string) {
  return h.step({
    kind: 'statusUpdate',
    keyId: 'key-h1',
    agentId,
    update: finished(frameworkId, uuid),
  });
}

/** The agent re-registers with `tasks` (none by default) and its unacknowledged updates. */
function reregister(
  h: MasterHarness,
  agentId: string,
  report: {
    tasks?: readonly ReportedTask[];
    unacknowledged?: readonly AgentStatusUpdate[];
  } = {},
) {
  return h.step({
    kind: 'reregisterAgent',
    keyId: 'key-h1',
    agentId,
    agent: spec,
    tasks: report.tasks ?? [],
    ...(report.unacknowledged ? { unacknowledged: report.unacknowledged } : {}),
  });
}

test('a task ended during a disconnection is not reported gone; its real update follows', () => {
  const { h, agentId, frameworkId } = setupRunning();
  h.step({ kind: 'agentDisconnected', agentId });
  const reregistered = reregister(h, agentId, {
    unacknowledged: [finished(frameworkId, 'u-fin')],
  });
  assert.ok(reregistered.ok);
  assert.not.ok(
    updates(h, frameworkId).some((status) => status.state === 'TASK_GONE'),
    'no TASK_GONE for a task whose terminal update is on its way',
  );
  const retried = sendFinished(h, agentId, frameworkId, 'u-fin');
  assert.ok(retried.ok);
  const last = updates(h, frameworkId).at(-1)!;
  assert.is(last.state, 'TASK_FINISHED');
  assert.is(last.fuelConsumed, 1234);
  assert.ok(h.core.view().agents.get(agentId)!.used.isEmpty(), 'its resources came back');
  acknowledge(h, frameworkId, 's1', agentId, 'u-fin');
  assert.ok(acknowledgedToAgent(h, agentId, 'u-fin'), 'the acknowledgement reaches the agent');
});

test('without the unacknowledged update the task is reported gone (the case above guards against)', () => {
  const { h, agentId, frameworkId } = setupRunning();
  h.step({ kind: 'agentDisconnected', agentId });
  assert.ok(reregister(h, agentId).ok);
  assert.is(updates(h, frameworkId).at(-1)!.state, 'TASK_GONE');
});

test('after a master restart a task that ended meanwhile reaches the framework and is acknowledged', () => {
  const { h, agentId, frameworkId } = setupRunning();
  const registry = decodeRegistry(encodeRegistry(h.registry!));
  assert.ok(registry.ok);
  h.boot(registry.value);
  h.subscribe('s2', { id: frameworkId });
  assert.ok(reregister(h, agentId, { unacknowledged: [finished(frameworkId, 'u-fin')] }).ok);
  const seen = updates(h, frameworkId).filter((status) => status.state === 'TASK_FINISHED');
  assert.is(seen.length, 1);
  assert.is(seen[0]!.uuid, 'u-fin');
  // The agent's retry is forwarded again (at least once), not acknowledged by the master.
  sendFinished(h, agentId, frameworkId, 'u-fin');
  assert.not.ok(
    acknowledgedToAgent(h, agentId, 'u-fin'),
    'not acknowledged before the framework acknowledges',
  );
  acknowledge(h, frameworkId, 's2', agentId, 'u-fin');
  assert.ok(acknowledgedToAgent(h, agentId, 'u-fin'));
  assert.is(h.core.view().frameworks.get(frameworkId)!.tasks.size, 0, 'completed');
});

test('reregistered is the first message of its batch, before the consequences of the report', () => {
  const { h, agentId } = setupRunning();
  const batches = h.batches.length;
  assert.ok(
    reregister(h, agentId, {
      tasks: [
        {
          frameworkId: 'ghost',
          taskId: 'orphan',
          name: 'orphan',
          state: 'TASK_RUNNING',
          resources: Resources.of({ cpus: 1 }),
          runtime: 'wasm',
        },
      ],
    }).ok,
  );
  const types = h.batches
    .slice(batches)
    .flatMap((batch) => batch.toAgents.map((delivery) => delivery.message.type));
  assert.equal(types.slice(0, 2), ['reregistered', 'shutdownFramework']);
});

test('unacknowledged updates in states an agent never reports are refused', () => {
  const { h, agentId, frameworkId } = setupRunning();
  const refused = reregister(h, agentId, {
    unacknowledged: [{ ...finished(frameworkId, 'u'), state: 'TASK_STAGING' }],
  });
  assert.is(!refused.ok && refused.error.code, 'invalid');
});

test.run();
