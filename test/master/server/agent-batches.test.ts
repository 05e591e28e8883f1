import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FrameworkEvent } from '../../../master/core/messages.js';
import { Resources } from '../../../master/core/resources.js';
import type { MasterContext } from '../../../master/server/context.js';
import {
  agentBatchLimits,
  type AgentCall,
  type AgentEvent,
  type StatusUpdate,
  type TaskState,
} from '../../../protocol/index.js';
import { until } from '../../support/until.js';
import type { RawAgent } from '../../e2e/support/raw-agent.js';
import {
  launchOnFirstOffer,
  sealUnchecked,
  subscribeDriverFramework,
  withAgentChannelMaster,
  type AgentChannelCluster,
} from './agent-channel-harness.js';

/**
 * The batched forms of the agent channel (docs/AGENT-CHANNEL.md, "Batching"): STATUS_UPDATES
 * stepped in order with per-update refusals, and ACKNOWLEDGE_UPDATES to agents that speak it.
 */

/** One agent key: each test drives a single raw agent. */
const withMaster = (body: (cluster: AgentChannelCluster) => Promise<void>) =>
  withAgentChannelMaster({ agentKeys: 1 }, body);

/** A raw agent registered with a live stream, and its id. */
async function registeredAgent({
  agent,
  registered,
}: AgentChannelCluster): Promise<{ agent: RawAgent; agentId: string }> {
  const raw = agent(0);
  return { agent: raw, agentId: await registered(raw) };
}

let uuidCounter = 0;
function uuid(): string {
  return Buffer.from(`batch-uuid-${String(uuidCounter++).padStart(5, '0')}`).toString('base64');
}

function update(
  agentId: string,
  frameworkId: string,
  taskId: string,
  state: TaskState,
): StatusUpdate {
  return {
    framework_id: { value: frameworkId },
    agent_id: { value: agentId },
    status: { task_id: { value: taskId }, state, source: 'SOURCE_AGENT', uuid: uuid() },
  };
}

const batch = (agentId: string, updates: StatusUpdate[]): AgentCall => ({
  type: 'STATUS_UPDATES',
  status_updates: { agent_id: { value: agentId }, updates },
});

/** Posts a call on the agent's stream; the status and the answer's body (JSON or empty). */
async function post(agent: RawAgent, call: AgentCall): Promise<{ status: number; body: unknown }> {
  return answerOf(await agent.post(agent.seal(call), agent.streamId));
}

async function answerOf(response: Response): Promise<{ status: number; body: unknown }> {
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

type Ack = { task: string; uuid: string };

/** Acknowledgements the agent received, one inner list per event record. */
function acknowledgementRecords(events: readonly AgentEvent[]): Ack[][] {
  const records: Ack[][] = [];
  for (const event of events) {
    if (event.type === 'ACKNOWLEDGE_UPDATE')
      records.push([
        { task: event.acknowledge_update.task_id.value, uuid: event.acknowledge_update.uuid },
      ]);
    if (event.type === 'ACKNOWLEDGE_UPDATES')
      records.push(
        event.acknowledge_updates.acknowledgements.map((ack) => ({
          task: ack.task_id.value,
          uuid: ack.uuid,
        })),
      );
  }
  return records;
}

/** A framework subscribed on a test sink, with tasks launched on the agent. */
async function frameworkWithTasks(
  ctx: MasterContext,
  agentId: string,
  taskIds: readonly string[],
): Promise<{ frameworkId: string; events: FrameworkEvent[] }> {
  const framework = await subscribeDriverFramework(ctx);
  await launchOnFirstOffer(
    ctx,
    framework,
    taskIds.map((taskId) => ({
      taskId,
      name: taskId,
      resources: Resources.of({ cpus: 0.1, mem: 16 }),
      runtime: 'wasm' as const,
      payload: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: agentId },
        resources: [],
        wasm: { digest: `sha256:${'ab'.repeat(32)}` },
      },
    })),
  );
  const { frameworkId, events } = framework;
  return { frameworkId, events };
}

/** The framework's update events, as "task STATE". */
function forwarded(events: readonly FrameworkEvent[]): string[] {
  return events.flatMap((event) =>
    event.type === 'update' ? [`${event.status.taskId} ${event.status.state}`] : [],
  );
}

test('STATUS_UPDATES is stepped in order; a bad update is refused alone; acknowledgements come back as one record', () =>
  withMaster(async (cluster) => {
    const { ctx } = cluster;
    const { agent, agentId } = await registeredAgent(cluster);
    const { frameworkId, events } = await frameworkWithTasks(ctx, agentId, ['t1', 't2', 't3']);
    const acknowledgeAll = async (updates: readonly StatusUpdate[]): Promise<void> => {
      // Submitted in one turn: the master delivers their acknowledgements together.
      const replies = await Promise.all(
        updates.map((each) =>
          ctx.driver.submit({
            kind: 'acknowledge',
            frameworkId,
            streamId: 'fw-stream',
            agentId,
            taskId: each.status.task_id.value,
            uuid: each.status.uuid,
          }),
        ),
      );
      for (const reply of replies) assert.ok(reply.ok);
    };

    // The single form still works, and an agent that has only used it gets single acknowledgements.
    const running1 = update(agentId, frameworkId, 't1', 'TASK_RUNNING');
    const running2 = update(agentId, frameworkId, 't2', 'TASK_RUNNING');
    for (const each of [running1, running2]) {
      const answer = await post(agent, { type: 'STATUS_UPDATE', status_update: { update: each } });
      assert.equal(answer, { status: 202, body: undefined });
    }
    await until(() => forwarded(events).length === 2 || undefined, 'two updates forwarded');
    await acknowledgeAll([running1, running2]);
    await until(
      () => acknowledgementRecords(agent.events).length === 2 || undefined,
      'two ACKNOWLEDGE_UPDATE',
    );
    assert.equal(acknowledgementRecords(agent.events), [
      [{ task: 't1', uuid: running1.status.uuid }],
      [{ task: 't2', uuid: running2.status.uuid }],
    ]);

    // One call: two updates of t3 in order, a refused one in the middle of its neighbours.
    const finished1 = update(agentId, frameworkId, 't1', 'TASK_FINISHED');
    const bad = update(agentId, frameworkId, 't2', 'TASK_STAGING');
    const running3 = update(agentId, frameworkId, 't3', 'TASK_RUNNING');
    const finished3 = update(agentId, frameworkId, 't3', 'TASK_FINISHED');
    const failed2 = update(agentId, frameworkId, 't2', 'TASK_FAILED');
    const answer = await post(
      agent,
      batch(agentId, [finished1, bad, running3, finished3, failed2]),
    );
    assert.is(answer.status, 202);
    const refused = (answer.body as { refused: Array<{ index: number; code: string }> }).refused;
    assert.equal(
      refused.map(({ index, code }) => ({ index, code })),
      [{ index: 1, code: 'INVALID' }],
    );
    assert.equal(forwarded(events).slice(2), [
      't1 TASK_FINISHED',
      't3 TASK_RUNNING',
      't3 TASK_FINISHED',
      't2 TASK_FAILED',
    ]);
    await acknowledgeAll([finished1, finished3, failed2]);
    await until(
      () => acknowledgementRecords(agent.events).length === 3 || undefined,
      'ACKNOWLEDGE_UPDATES',
    );
    assert.equal(acknowledgementRecords(agent.events)[2], [
      { task: 't1', uuid: finished1.status.uuid },
      { task: 't3', uuid: finished3.status.uuid },
      { task: 't2', uuid: failed2.status.uuid },
    ]);
    assert.ok(agent.events.some((event) => event.type === 'ACKNOWLEDGE_UPDATES'));
  }));

test('a batch that is invalid as a whole is refused with a clear error and changes nothing', () =>
  withMaster(async (cluster) => {
    const { keys } = cluster;
    const { agent, agentId } = await registeredAgent(cluster);
    // Updates of tasks the master does not know are acknowledged by the master itself, so an
    // update that was stepped shows up as an acknowledgement on the stream.
    const stray = update(agentId, 'fw-x', 'gone-1', 'TASK_FINISHED');
    const foreign = update('another-agent', 'fw-x', 'gone-2', 'TASK_FINISHED');
    const refused = await post(agent, batch(agentId, [stray, foreign]));
    assert.is(refused.status, 400);
    const error = (refused.body as { error: { code: string; message: string } }).error;
    assert.is(error.code, 'INVALID');
    assert.match(error.message, /update 1 names agent another-agent/);

    const tooMany = Array.from({ length: agentBatchLimits.statusUpdatesPerCallMax + 1 }, (_, i) =>
      update(agentId, 'fw-x', `many-${i}`, 'TASK_FINISHED'),
    );
    const oversized = await answerOf(
      await agent.post(sealUnchecked(keys.agents[0]!, batch(agentId, tooMany)), agent.streamId),
    );
    assert.is(oversized.status, 400);
    const oversizedError = (oversized.body as { error: { code: string; message: string } }).error;
    assert.is(oversizedError.code, 'SCHEMA');
    assert.match(
      oversizedError.message,
      `status_updates.updates: Too big: expected array to have <=${agentBatchLimits.statusUpdatesPerCallMax} items`,
    );
    const empty = await answerOf(
      await agent.post(sealUnchecked(keys.agents[0]!, batch(agentId, [])), agent.streamId),
    );
    assert.is(empty.status, 400);
    assert.is((empty.body as { error: { code: string } }).error.code, 'SCHEMA');

    // A good batch now: its acknowledgements are the first and only ones on the stream (the
    // stream is in order, so had anything above been stepped its acknowledgement came first).
    const good = [
      update(agentId, 'fw-x', 'gone-3', 'TASK_FINISHED'),
      update(agentId, 'fw-x', 'gone-4', 'TASK_FINISHED'),
    ];
    assert.equal(await post(agent, batch(agentId, good)), { status: 202, body: undefined });
    await until(() => acknowledgementRecords(agent.events).length > 0 || undefined, 'acks');
    assert.equal(acknowledgementRecords(agent.events), [
      good.map((each) => ({ task: each.status.task_id.value, uuid: each.status.uuid })),
    ]);
  }));

test('STATUS_UPDATES needs the stream of the agent it names', () =>
  withMaster(async (cluster) => {
    const { agent, agentId } = await registeredAgent(cluster);
    const call = batch(agentId, [update(agentId, 'fw-x', 'gone-1', 'TASK_FINISHED')]);
    const missing = await answerOf(await agent.post(agent.seal(call)));
    assert.is(missing.status, 400);
    const wrong = await answerOf(await agent.post(agent.seal(call), 'not-a-stream'));
    assert.is(wrong.status, 403);
    assert.is((wrong.body as { error: { code: string } }).error.code, 'WRONG_STREAM');
  }));

test.run();
