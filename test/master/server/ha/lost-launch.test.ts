/**
 * A launch the leader accepted but never sent to its agent, then the leader died: what the next
 * leader (a master core booted from the same registry) tells the framework, step by step, as in
 * Mesos. The registry holds no tasks, so the next leader learns tasks only from re-registering
 * agents; the framework finds out about the lost launch by reconciling it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRegistry, encodeRegistry } from '../../../../master/core/registry.js';
import { Resources } from '../../../../master/core/resources.js';
import type { TaskStatusView } from '../../../../master/core/tasks.js';
import { MasterHarness } from '../../core/master-harness.js';

const AGENT = {
  hostname: 'h1',
  resources: Resources.of({ cpus: 4, mem: 4096 }),
  runtimes: ['wasm' as const],
  attributes: {},
};

function updates(h: MasterHarness, frameworkId: string): TaskStatusView[] {
  return h
    .eventsFor(frameworkId)
    .flatMap((event) => (event.type === 'update' ? [event.status] : []));
}

/** A leader that accepted launch t0 on the agent, then "died": a new core on its registry. */
function failedOver(partitionAware: boolean) {
  const h = new MasterHarness();
  const agentId = h.register();
  const frameworkId = h.subscribe('s1', { partitionAware });
  h.tick();
  const offer = h.lastOffers(frameworkId)[0]!;
  assert.ok(h.launch(frameworkId, 's1', offer.id, [{}]).ok);
  const registry = decodeRegistry(encodeRegistry(h.registry!));
  assert.ok(registry.ok);
  h.nowMs += 100;
  h.boot(registry.value);
  h.batches.length = 0;
  h.subscribe('s2', { id: frameworkId, partitionAware });
  const reconcile = () =>
    h.step({ kind: 'reconcile', frameworkId, streamId: 's2', tasks: [{ taskId: 't0', agentId }] });
  return { h, agentId, frameworkId, reconcile };
}

test('the next leader does not know the launch; reconciling it answers TASK_GONE once the agent re-registered without it', () => {
  const { h, agentId, frameworkId, reconcile } = failedOver(true);
  assert.not.ok(h.core.view().frameworks.get(frameworkId)!.tasks.has('t0'));
  // While the agent has not re-registered, its tasks are not known yet: no answer.
  reconcile();
  assert.equal(updates(h, frameworkId), []);
  const reregistered = h.step({
    kind: 'reregisterAgent',
    keyId: 'key-h1',
    agentId,
    agent: AGENT,
    tasks: [],
  });
  assert.ok(reregistered.ok);
  // Nothing is reported by itself (the master never knew the task) ...
  assert.equal(updates(h, frameworkId), []);
  reconcile();
  // ... reconciliation names it gone, from the master, with nothing to acknowledge.
  const [gone] = updates(h, frameworkId);
  assert.is(gone?.state, 'TASK_GONE');
  assert.is(gone?.reason, 'REASON_RECONCILIATION');
  assert.is(gone?.source, 'SOURCE_MASTER');
  assert.is(gone?.uuid, undefined);
  // Nothing was launched behind the framework's back: the agent is not asked to run t0.
  assert.not.ok(h.messagesFor(agentId).some((message) => message.type === 'launch'));
});

test('a framework that is not partition-aware hears TASK_LOST instead', () => {
  const { h, agentId, frameworkId, reconcile } = failedOver(false);
  h.step({ kind: 'reregisterAgent', keyId: 'key-h1', agentId, agent: AGENT, tasks: [] });
  reconcile();
  assert.equal(
    updates(h, frameworkId).map((status) => status.state),
    ['TASK_LOST'],
  );
});

test('an agent that never re-registers: its tasks reconcile as TASK_UNREACHABLE after the timeout', () => {
  const { h, agentId, frameworkId, reconcile } = failedOver(true);
  h.tick(61_000);
  assert.is(h.core.view().agents.get(agentId)!.status, 'unreachable');
  reconcile();
  assert.equal(
    updates(h, frameworkId).map((status) => status.state),
    ['TASK_UNREACHABLE'],
  );
});

test('reconciling without naming the agent answers TASK_UNKNOWN', () => {
  const { h, frameworkId } = failedOver(true);
  h.step({ kind: 'reconcile', frameworkId, streamId: 's2', tasks: [{ taskId: 't0' }] });
  assert.equal(
    updates(h, frameworkId).map((status) => status.state),
    ['TASK_UNKNOWN'],
  );
});

test.run();
