import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resources } from '../../../master/core/resources.js';
import { requestTaskLogs } from '../../../master/server/agent-hub.js';
import type { AgentCall, AgentEvent } from '../../../protocol/index.js';
import { until } from '../../support/until.js';
import { RawAgent } from '../../e2e/support/raw-agent.js';
import {
  agentInfo,
  launchOnFirstOffer,
  sealUnchecked,
  subscribeDriverFramework,
  withAgentChannelMaster,
  type AgentChannelCluster,
} from './agent-channel-harness.js';

const CALL_BYTES_MAX = 64 * 1024;

const withMaster = (body: (cluster: AgentChannelCluster) => Promise<void>) =>
  withAgentChannelMaster({ agentKeys: 2, httpLimits: { callBytesMax: CALL_BYTES_MAX } }, body);

const heartbeat = (agentId: string): AgentCall => ({
  type: 'HEARTBEAT',
  heartbeat: { agent_id: { value: agentId } },
});

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: { code?: string } };
  return body.error?.code ?? '';
}

test('REGISTER answers a stream of master-signed events: REGISTERED first, then heartbeats', () =>
  withMaster(async ({ ctx, agent, registered, keys }) => {
    const a = agent(0);
    const agentId = await registered(a);
    assert.ok(a.streamId, 'Mesos-Stream-Id header');
    const admitted = ctx.driver.view().agents.get(agentId);
    assert.is(admitted?.status, 'active');
    assert.is(admitted?.keyId, keys.agents[0]!.keyId);
    assert.is(admitted?.attributes['zone'], 'edge-1');
    assert.ok(admitted?.total.equals(Resources.of({ cpus: 2, mem: 1024 })));
    const first = a.events[0];
    assert.is(first?.type === 'REGISTERED' && first.registered.heartbeat_interval_seconds, 0.2);
    await until(() => a.events.some((event) => event.type === 'HEARTBEAT'), 'a HEARTBEAT event');
    assert.is(a.failure, undefined);
  }));

test('calls on the stream answer 202; a missing, unknown or foreign stream id is refused', () =>
  withMaster(async ({ agent, registered }) => {
    const a = agent(0);
    const b = agent(1);
    const aId = await registered(a);
    const bId = await registered(b);
    assert.is((await a.call(heartbeat(aId))).status, 202);
    const missing = await a.post(a.seal(heartbeat(aId)));
    assert.is(missing.status, 400);
    assert.is(await errorCode(missing), 'MISSING_STREAM_ID');
    const unknown = await a.post(a.seal(heartbeat(aId)), 'not-a-stream');
    assert.is(unknown.status, 403);
    assert.is(await errorCode(unknown), 'WRONG_STREAM');
    // B's call on A's stream: the stream is not B's.
    const foreign = await b.post(b.seal(heartbeat(bId)), a.streamId);
    assert.is(foreign.status, 403);
    assert.is(await errorCode(foreign), 'WRONG_STREAM');
    // B's key naming A, on A's stream: the key is not the one that opened it.
    const impostor = await b.post(b.seal(heartbeat(aId)), a.streamId);
    assert.is(impostor.status, 403);
    assert.is(await errorCode(impostor), 'KEY_MISMATCH');
  }));

test('a replayed envelope is refused and changes nothing', () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const bytes = a.seal(heartbeat(agentId));
    assert.is((await a.post(bytes, a.streamId)).status, 202);
    const again = await a.post(bytes, a.streamId);
    assert.is(again.status, 400);
    assert.is(await errorCode(again), 'REPLAYED');
    // A replayed REGISTER does not admit a second agent.
    const register = a.seal({ type: 'REGISTER', register: { agent_info: agentInfo } });
    const agents = ctx.driver.view().agents.size;
    const first = await a.post(register);
    assert.is(first.status, 200);
    await first.body?.cancel();
    const replayed = await a.post(register);
    assert.is(replayed.status, 400);
    assert.is(ctx.driver.view().agents.size, agents + 1);
  }));

test('envelopes from untrusted keys or wrong roles, and malformed or oversized bodies, are refused', () =>
  withMaster(async ({ keys, master, ctx }) => {
    const stranger = new RawAgent(master.url, keys.stranger, keys.masterTrust);
    const register: AgentCall = { type: 'REGISTER', register: { agent_info: agentInfo } };
    const unknownKey = await stranger.post(stranger.seal(register));
    assert.is(unknownKey.status, 403);
    assert.is(await errorCode(unknownKey), 'UNKNOWN_KEY');
    const framework = new RawAgent(master.url, keys.framework, keys.masterTrust);
    const wrongRole = await framework.post(framework.seal(register));
    assert.is(wrongRole.status, 403);
    assert.is(await errorCode(wrongRole), 'WRONG_ROLE');
    const json = await stranger.post(new TextEncoder().encode('{}'), undefined, 'application/json');
    assert.is(json.status, 415);
    const garbage = await stranger.post(new Uint8Array([1, 2, 3, 4]));
    assert.is(garbage.status, 400);
    assert.is(await errorCode(garbage), 'MALFORMED');
    const huge = await stranger.post(new Uint8Array(CALL_BYTES_MAX + 1));
    assert.is(huge.status, 413);
    const schema = await stranger.post(sealUnchecked(keys.agents[0]!, { type: 'HEARTBEAT' }));
    assert.is(schema.status, 400);
    assert.is(await errorCode(schema), 'SCHEMA');
    const agent = new RawAgent(master.url, keys.agents[0]!, keys.masterTrust);
    const badResources = await agent.post(
      agent.seal({
        type: 'REGISTER',
        register: {
          agent_info: {
            ...agentInfo,
            resources: [{ name: 'cpus', type: 'SET', set: { item: ['a'] } }],
          },
        },
      }),
    );
    assert.is(badResources.status, 400);
    assert.is(await errorCode(badResources), 'INVALID');
    const noRuntime = await agent.post(
      agent.seal({ type: 'REGISTER', register: { agent_info: { ...agentInfo, runtimes: [] } } }),
    );
    assert.is(noRuntime.status, 400);
    assert.is(ctx.driver.view().agents.size, 0, 'no refused call admitted an agent');
  }));

test("REREGISTER signed by another agent's key is refused and leaves the agent's stream open", () =>
  withMaster(async ({ agent, registered }) => {
    const a = agent(0);
    const b = agent(1);
    const aId = await registered(a);
    const refused = await b.subscribe({
      type: 'REREGISTER',
      reregister: { agent_id: { value: aId }, agent_info: agentInfo, tasks: [] },
    });
    assert.is(refused.status, 403);
    assert.is(await errorCode(refused), 'KEY_MISMATCH');
    assert.not.ok(a.ended);
    assert.is((await a.call(heartbeat(aId))).status, 202);
  }));

test('a closed stream disconnects the agent; REREGISTER brings it back on a new stream', () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const oldStream = a.streamId;
    a.disconnect();
    await until(
      () => ctx.driver.view().agents.get(agentId)?.status === 'disconnected',
      'the agent marked disconnected',
    );
    a.events.length = 0;
    const response = await a.subscribe({
      type: 'REREGISTER',
      reregister: { agent_id: { value: agentId }, agent_info: agentInfo, tasks: [] },
    });
    assert.is(response.status, 200);
    const first = await until(() => a.events[0], 'REREGISTERED');
    assert.is(first.type, 'REREGISTERED');
    assert.is(ctx.driver.view().agents.get(agentId)?.status, 'active');
    assert.is.not(a.streamId, oldStream);
    assert.is((await a.call(heartbeat(agentId), oldStream)).status, 403, 'the old stream is gone');
    assert.is((await a.call(heartbeat(agentId))).status, 202);
  }));

test('what the core sends with REREGISTERED follows it on the new stream, in order', () =>
  withMaster(async ({ agent, registered }) => {
    const a = agent(0);
    const agentId = await registered(a);
    a.disconnect();
    a.events.length = 0;
    // A task of a framework this master does not know: its framework must be shut down.
    const response = await a.subscribe({
      type: 'REREGISTER',
      reregister: {
        agent_id: { value: agentId },
        agent_info: agentInfo,
        tasks: [
          {
            name: 'orphan',
            task_id: { value: 'orphan' },
            framework_id: { value: 'ghost-framework' },
            agent_id: { value: agentId },
            state: 'TASK_RUNNING',
            resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
          },
        ],
      },
    });
    assert.is(response.status, 200);
    await until(() => a.events.length >= 2, 'two events');
    assert.is(a.events[0]!.type, 'REREGISTERED');
    assert.equal(a.events[1], {
      type: 'SHUTDOWN_FRAMEWORK',
      shutdown_framework: { framework_id: { value: 'ghost-framework' } },
    });
  }));

test('UNREGISTER makes the agent gone; UPDATE_AGENT is refused as unsupported', () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const update = await a.call({
      type: 'UPDATE_AGENT',
      update_agent: { agent_id: { value: agentId }, agent_info: agentInfo },
    });
    assert.is(update.status, 400);
    const unregister = await a.call({
      type: 'UNREGISTER',
      unregister: { agent_id: { value: agentId } },
    });
    assert.is(unregister.status, 202);
    assert.is(ctx.driver.view().agents.get(agentId)?.status, 'gone');
    const late = await a.post(a.seal(heartbeat(agentId)), a.streamId);
    assert.is(late.status, 403);
    assert.is(await errorCode(late), 'AGENT_GONE');
  }));

test('a second REGISTER stream of the same agent replaces the first', () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const second = agent(0);
    const response = await second.subscribe({
      type: 'REREGISTER',
      reregister: { agent_id: { value: agentId }, agent_info: agentInfo, tasks: [] },
    });
    assert.is(response.status, 200);
    await until(() => a.ended, 'the first stream closed');
    // The replaced stream closing must not mark the agent disconnected.
    assert.is(ctx.driver.view().agents.get(agentId)?.status, 'active');
    assert.is((await second.call(heartbeat(agentId))).status, 202);
  }));

test('launch, status update and acknowledgement travel the channel with their wire fields', () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const framework = await subscribeDriverFramework(ctx);
    const { frameworkId, events } = framework;
    const digest = `sha256:${'ab'.repeat(32)}`;
    await launchOnFirstOffer(ctx, framework, [
      {
        taskId: 't1',
        name: 'hello',
        resources: Resources.of({ cpus: 0.5, mem: 64 }),
        runtime: 'wasm',
        payload: {
          name: 'hello',
          task_id: { value: 't1' },
          agent_id: { value: agentId },
          resources: [],
          wasm: { digest, fuel: 1000 },
        },
      },
    ]);
    const launch = await until(
      () =>
        a.events.find(
          (event): event is Extract<AgentEvent, { type: 'LAUNCH' }> => event.type === 'LAUNCH',
        ),
      'LAUNCH',
    );
    assert.is(launch.launch.framework_id.value, frameworkId);
    assert.is(launch.launch.task.task_id.value, 't1');
    assert.is(launch.launch.task.agent_id.value, agentId);
    assert.equal(launch.launch.task.wasm, { digest, fuel: 1000 });
    assert.equal(
      [...launch.launch.task.resources].sort((x, y) => x.name.localeCompare(y.name)),
      [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
      ],
    );
    const uuid = Buffer.from('finished-uuid-01').toString('base64');
    const update: AgentCall = {
      type: 'STATUS_UPDATE',
      status_update: {
        update: {
          framework_id: { value: frameworkId },
          agent_id: { value: agentId },
          status: {
            task_id: { value: 't1' },
            state: 'TASK_FINISHED',
            source: 'SOURCE_AGENT',
            uuid,
            timestamp: Date.now() / 1000,
            exit_code: 0,
            fuel_consumed: 321,
            peak_memory_bytes: 65_536,
            duration_ms: 12,
          },
        },
      },
    };
    assert.is((await a.call(update)).status, 202);
    const forwarded = await until(
      () =>
        events.find((event) => event.type === 'update' && event.status.state === 'TASK_FINISHED'),
      'the update forwarded',
    );
    assert.ok(forwarded.type === 'update');
    assert.is(forwarded.status.fuelConsumed, 321);
    assert.is(forwarded.status.peakMemoryBytes, 65_536);
    assert.is(forwarded.status.durationMs, 12);
    assert.is(forwarded.status.exitCode, 0);
    assert.not.ok(
      a.events.some((event) => event.type === 'ACKNOWLEDGE_UPDATE'),
      'not acknowledged before the framework does',
    );
    await ctx.driver.submit({
      kind: 'acknowledge',
      frameworkId,
      streamId: 'fw-stream',
      agentId,
      taskId: 't1',
      uuid,
    });
    const ack = await until(
      () => a.events.find((event) => event.type === 'ACKNOWLEDGE_UPDATE'),
      'ACKNOWLEDGE_UPDATE',
    );
    assert.equal(ack, {
      type: 'ACKNOWLEDGE_UPDATE',
      acknowledge_update: { framework_id: { value: frameworkId }, task_id: { value: 't1' }, uuid },
    });
  }));

test('a task that ended while the stream was down is not reported TASK_GONE on REREGISTER', () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const framework = await subscribeDriverFramework(ctx, 'fw');
    const { frameworkId, events } = framework;
    await launchOnFirstOffer(ctx, framework, [
      {
        taskId: 't1',
        name: 't1',
        resources: Resources.of({ cpus: 1, mem: 64 }),
        runtime: 'wasm',
        payload: { wasm: { digest: `sha256:${'cd'.repeat(32)}` } },
      },
    ]);
    await until(() => a.events.some((event) => event.type === 'LAUNCH'), 'LAUNCH');
    const update = (state: 'TASK_RUNNING' | 'TASK_FINISHED', uuid: string) => ({
      framework_id: { value: frameworkId },
      agent_id: { value: agentId },
      status: { task_id: { value: 't1' }, state, source: 'SOURCE_AGENT' as const, uuid },
    });
    const running = update('TASK_RUNNING', Buffer.from('running-uuid').toString('base64'));
    assert.is(
      (await a.call({ type: 'STATUS_UPDATE', status_update: { update: running } })).status,
      202,
    );
    // The stream breaks; the task finishes meanwhile; the agent comes back without it in its
    // task list (it ended) but with its unacknowledged terminal update.
    a.disconnect();
    await until(
      () => ctx.driver.view().agents.get(agentId)?.status === 'disconnected',
      'disconnected',
    );
    const finished = update('TASK_FINISHED', Buffer.from('finished-uuid').toString('base64'));
    const response = await a.subscribe({
      type: 'REREGISTER',
      reregister: {
        agent_id: { value: agentId },
        agent_info: agentInfo,
        tasks: [],
        unacknowledged_updates: [{ ...finished, latest_state: 'TASK_FINISHED' }],
      },
    });
    assert.is(response.status, 200);
    assert.is(
      (await a.call({ type: 'STATUS_UPDATE', status_update: { update: finished } })).status,
      202,
    );
    const states = () =>
      events.flatMap((event) => (event.type === 'update' ? [event.status.state] : []));
    await until(() => states().includes('TASK_FINISHED'), 'TASK_FINISHED forwarded');
    assert.not.ok(states().includes('TASK_GONE'), states().join(','));
  }));

test("logs: LOGS_REQUEST goes out on the agent's stream and the LOGS call answers it", () =>
  withMaster(async ({ agent, registered, ctx }) => {
    const a = agent(0);
    const agentId = await registered(a);
    const pending = requestTaskLogs(ctx, {
      agentId,
      frameworkId: 'f1',
      taskId: 't1',
      stream: 'stdout',
      length: 5,
    });
    const request = await until(
      () =>
        a.events.find(
          (event): event is Extract<AgentEvent, { type: 'LOGS_REQUEST' }> =>
            event.type === 'LOGS_REQUEST',
        ),
      'LOGS_REQUEST',
    );
    assert.is(request.logs_request.length, 5);
    assert.is(request.logs_request.offset, undefined);
    const answer = (data: string, requestId = request.logs_request.request_id): AgentCall => ({
      type: 'LOGS',
      logs: {
        agent_id: { value: agentId },
        request_id: requestId,
        framework_id: { value: 'f1' },
        task_id: { value: 't1' },
        stream: 'stdout',
        offset: 7,
        data: Buffer.from(data).toString('base64'),
        size: 12,
        complete: true,
      },
    });
    // An answer to no request is accepted and ignored.
    assert.is((await a.call(answer('x', 'no-such-request'))).status, 202);
    assert.is((await a.call(answer('world'))).status, 202);
    const chunk = await pending;
    assert.ok(chunk.ok);
    assert.is(Buffer.from(chunk.value.data).toString(), 'world');
    assert.is(chunk.value.offset, 7);
    assert.is(chunk.value.size, 12);
    assert.is(chunk.value.complete, true);
    const absent = await requestTaskLogs(ctx, {
      agentId: 'no-such-agent',
      frameworkId: 'f1',
      taskId: 't1',
      stream: 'stderr',
      length: 5,
    });
    assert.is(!absent.ok && absent.error.code, 'AGENT_NOT_CONNECTED');
  }));

test.run();
