/**
 * The scheduler API through a real HTTP server on an ephemeral port: every call and event in
 * both encodings (signed CBOR and Mesos v1 JSON), driven by a framework client reading RecordIO
 * and an agent registered through the driver.
 */
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RecordIoDecoder, type SchedulerCall, type TaskInfo } from '../../../protocol/index.js';
import type { RunningMaster } from '../../../master/server/master-process.js';
import {
  cborFramework,
  basic,
  contextOf,
  CREDENTIALS,
  DriverAgent,
  FrameworkClient,
  makeKeys,
  removeKeys,
  startTestMaster,
  type Auth,
  type Keys,
} from './scheduler-harness.js';
import { until } from '../../support/until.js';

const subscribeCall = (extra: Partial<{ id: string; failover: number }> = {}): SchedulerCall => ({
  type: 'SUBSCRIBE',
  ...(extra.id ? { framework_id: { value: extra.id } } : {}),
  subscribe: {
    framework_info: {
      user: 'alice',
      name: 'batch',
      failover_timeout: extra.failover ?? 3600,
      capabilities: [{ type: 'PARTITION_AWARE' }],
      ...(extra.id ? { id: { value: extra.id } } : {}),
    },
  },
});

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function taskInfo(taskId: string, agentId: string, kind: 'wasm' | 'command'): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: agentId },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
    ],
    ...(kind === 'wasm'
      ? { wasm: { digest: DIGEST, fuel: 1_000_000, permissions: { read: ['data'] } } }
      : { command: { value: 'echo hi' } }),
  };
}

async function withMaster(body: (master: RunningMaster, keys: Keys) => Promise<void>) {
  const keys = await makeKeys();
  const master = await startTestMaster(keys);
  try {
    await body(master, keys);
  } finally {
    await master.stop();
    await removeKeys(keys);
  }
}

/** The whole life of a framework, in one encoding. */
async function everyCallAndEvent(encoding: 'cbor' | 'json') {
  await withMaster(async (master, keys) => {
    const context = contextOf(master);
    const auth: Auth =
      encoding === 'cbor'
        ? { encoding, identity: keys.framework }
        : { encoding, authorization: basic(CREDENTIALS.principal, CREDENTIALS.secret) };
    const framework = new FrameworkClient(master.url, auth, keys.masterPublic);

    // SUBSCRIBE: 200, a stream id, SUBSCRIBED first with the heartbeat interval.
    const response = await framework.subscribe(subscribeCall());
    assert.is(response.status, 200);
    assert.is(response.headers.get('content-type'), `application/${encoding}`);
    assert.ok(framework.streamId, 'Mesos-Stream-Id header');
    const subscribed = await framework.next('SUBSCRIBED');
    assert.is(subscribed.subscribed.heartbeat_interval_seconds, 0.2);
    assert.is(subscribed.subscribed.master_info?.id, master.masterId);
    assert.is(subscribed.subscribed.master_info?.port, master.port);
    assert.is(subscribed.subscribed.master_info?.ip, 16_777_343, '127.0.0.1 packed as in Mesos');
    const frameworkId = subscribed.subscribed.framework_id.value;
    assert.is(framework.events[0]?.type, 'SUBSCRIBED', 'SUBSCRIBED comes first');
    const framework_id = { value: frameworkId };

    // HEARTBEAT at the announced interval.
    await framework.next('HEARTBEAT');

    // OFFERS once an agent registers.
    const agent = new DriverAgent(context, keys.agent.keyId);
    const agentId = await agent.register({ cpus: 2, mem: 1024 });
    const offers = await framework.next('OFFERS');
    const offer = offers.offers.offers[0]!;
    assert.is(offer.agent_id.value, agentId);
    assert.is(offer.framework_id.value, frameworkId);
    assert.equal(offer.resources, [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
    ]);
    assert.equal(offer.runtimes, ['wasm', 'linux']);
    assert.equal(offer.attributes, [{ name: 'zone', type: 'TEXT', text: { value: 'edge-1' } }]);
    assert.equal(offer.allocation_info, { role: 'default' });

    // ACCEPT with LAUNCH: a wasm task and a command task reach the agent with their TaskInfo.
    const wasmTask = taskInfo('task-wasm', agentId, 'wasm');
    const commandTask = taskInfo('task-cmd', agentId, 'command');
    const accepted = await framework.call({
      type: 'ACCEPT',
      framework_id,
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: 'LAUNCH', launch: { task_infos: [wasmTask, commandTask] } }],
        // What is left stays refused until the task below ends and frees more.
        filters: { refuse_seconds: 3600 },
      },
    });
    assert.is(accepted.status, 202);
    await until(
      () => agent.messages.filter((message) => message.type === 'launch').length === 2,
      'two launches',
    );
    const launches = agent.messages.filter((message) => message.type === 'launch');
    const wasmLaunch = launches.find((launch) => launch.taskId === 'task-wasm')!;
    assert.is(wasmLaunch.runtime, 'wasm');
    assert.equal(wasmLaunch.payload, wasmTask, 'the TaskInfo travels as the payload');
    assert.is(launches.find((launch) => launch.taskId === 'task-cmd')!.runtime, 'linux');

    // UPDATE: an agent's status reaches the framework with the wasmos result fields.
    const before = framework.events.length;
    const uuid = Buffer.from('0123456789abcdef').toString('base64');
    const updated = await context.driver.submit({
      kind: 'statusUpdate',
      keyId: keys.agent.keyId,
      agentId,
      update: {
        frameworkId,
        taskId: 'task-wasm',
        state: 'TASK_FINISHED',
        uuid,
        source: 'SOURCE_EXECUTOR',
        timestampMs: 1_700_000_000_500,
        exitCode: 0,
        fuelConsumed: 12_345,
        peakMemoryBytes: 65_536,
        durationMs: 42,
      },
    });
    assert.ok(updated.ok);
    const update = await framework.next('UPDATE', before);
    assert.equal(update.update.status, {
      task_id: { value: 'task-wasm' },
      state: 'TASK_FINISHED',
      source: 'SOURCE_EXECUTOR',
      timestamp: 1_700_000_000.5,
      agent_id: { value: agentId },
      uuid,
      exit_code: 0,
      fuel_consumed: 12_345,
      peak_memory_bytes: 65_536,
      duration_ms: 42,
    });

    // ACKNOWLEDGE: forwarded to the agent.
    const acked = await framework.call({
      type: 'ACKNOWLEDGE',
      framework_id,
      acknowledge: { agent_id: { value: agentId }, task_id: { value: 'task-wasm' }, uuid },
    });
    assert.is(acked.status, 202);
    const ack = await agent.next('acknowledgeUpdate');
    assert.equal(ack, {
      type: 'acknowledgeUpdate',
      frameworkId,
      taskId: 'task-wasm',
      uuid,
    });

    // RECONCILE (explicit): the master answers with the task's latest state.
    const beforeReconcile = framework.events.length;
    const reconciled = await framework.call({
      type: 'RECONCILE',
      framework_id,
      reconcile: { tasks: [{ task_id: { value: 'task-cmd' }, agent_id: { value: agentId } }] },
    });
    assert.is(reconciled.status, 202);
    const reconcileUpdate = await framework.next('UPDATE', beforeReconcile);
    assert.is(reconcileUpdate.update.status.task_id.value, 'task-cmd');
    assert.is(reconcileUpdate.update.status.state, 'TASK_STAGING');
    assert.is(reconcileUpdate.update.status.source, 'SOURCE_MASTER');

    // KILL: the agent is told.
    const killed = await framework.call({
      type: 'KILL',
      framework_id,
      kill: { task_id: { value: 'task-cmd' }, agent_id: { value: agentId } },
    });
    assert.is(killed.status, 202);
    assert.equal(await agent.next('kill'), { type: 'kill', frameworkId, taskId: 'task-cmd' });

    // MESSAGE: framework → agent.
    const data = Buffer.from('hello executor').toString('base64');
    const messaged = await framework.call({
      type: 'MESSAGE',
      framework_id,
      message: { agent_id: { value: agentId }, executor_id: { value: 'default' }, data },
    });
    assert.is(messaged.status, 202);
    const forwarded = await agent.next('frameworkMessage');
    assert.is(Buffer.from(forwarded.data).toString(), 'hello executor');

    // DECLINE an offer, REVIVE to get offers again, SUPPRESS, SHUTDOWN (no executors: no-op).
    // The finished task freed resources: everything free is offered again.
    const again = await framework.next('OFFERS', before, 'an offer of what is free');
    const declined = await framework.call({
      type: 'DECLINE',
      framework_id,
      decline: {
        offer_ids: again.offers.offers.map((each) => each.id),
        filters: { refuse_seconds: 3600 },
      },
    });
    assert.is(declined.status, 202);
    const beforeRevive = framework.events.length;
    assert.is((await framework.call({ type: 'REVIVE', framework_id })).status, 202);
    await framework.next('OFFERS', beforeRevive, 'an offer after REVIVE');
    assert.is(
      (await framework.call({ type: 'SUPPRESS', framework_id, suppress: { roles: ['default'] } }))
        .status,
      202,
    );
    assert.ok(context.driver.view().frameworks.get(frameworkId)?.suppressed);
    const shutdown = await framework.call({
      type: 'SHUTDOWN',
      framework_id,
      shutdown: { executor_id: { value: 'default' }, agent_id: { value: agentId } },
    });
    assert.is(shutdown.status, 202);

    // RESCIND and FAILURE: the agent is gone, its outstanding offer is void.
    const outstanding = [...(context.driver.view().frameworks.get(frameworkId)?.offerIds ?? [])];
    assert.is(outstanding.length, 1, 'the offer after REVIVE is outstanding');
    const beforeFailure = framework.events.length;
    await context.driver.submit({ kind: 'markAgentGone', agentId });
    const rescind = await framework.next('RESCIND', beforeFailure);
    assert.equal(rescind.rescind, { offer_id: { value: outstanding[0]! } });
    const failure = await framework.next('FAILURE', beforeFailure);
    assert.equal(failure.failure, { agent_id: { value: agentId } });

    // TEARDOWN: the framework is removed and its stream ends.
    assert.is((await framework.call({ type: 'TEARDOWN', framework_id })).status, 202);
    await until(() => framework.ended, 'the stream to end after TEARDOWN');
    assert.ok(context.driver.view().removedFrameworks.has(frameworkId));
  });
}

test('every call and event, signed CBOR', () => everyCallAndEvent('cbor'));
test('every call and event, Mesos v1 JSON', () => everyCallAndEvent('json'));

test('JSON events use the Mesos v1 field names', () =>
  withMaster(async (master, keys) => {
    const framework = new FrameworkClient(
      master.url,
      { encoding: 'json', authorization: basic(CREDENTIALS.principal, CREDENTIALS.secret) },
      keys.masterPublic,
    );
    const response = await framework.subscribe(subscribeCall());
    assert.is(response.status, 200);
    await framework.next('SUBSCRIBED');
    const agent = new DriverAgent(contextOf(master), keys.agent.keyId);
    await agent.register({ cpus: 1.5, mem: 256 });
    await framework.next('OFFERS');
    const subscribed = JSON.parse(framework.rawEvents[0]!) as Record<string, unknown>;
    assert.equal(Object.keys(subscribed).sort(), ['subscribed', 'type']);
    assert.equal(Object.keys(subscribed['subscribed'] as object).sort(), [
      'framework_id',
      'heartbeat_interval_seconds',
      'master_info',
    ]);
    const offersText = framework.rawEvents.find((text) => text.includes('"OFFERS"'))!;
    const offers = JSON.parse(offersText) as {
      offers: { offers: Array<Record<string, unknown>> };
    };
    const offer = offers.offers.offers[0]!;
    for (const field of ['id', 'framework_id', 'agent_id', 'hostname', 'resources'])
      assert.ok(field in offer, `offer field ${field}`);
    assert.equal((offer['resources'] as unknown[])[0], {
      name: 'cpus',
      type: 'SCALAR',
      scalar: { value: 1.5 },
    });
  }));

test('Accept: application/recordio gets RecordIO with the message type named', () =>
  withMaster(async (master, keys) => {
    const framework = cborFramework(master.url, keys);
    const init = framework.request(subscribeCall(), { accept: 'application/recordio' });
    const response = await fetch(`${master.url}/api/v1/scheduler`, init);
    assert.is(response.status, 200);
    assert.is(response.headers.get('content-type'), 'application/recordio');
    assert.is(response.headers.get('message-content-type'), 'application/cbor');
    await response.body?.cancel();
  }));

/** Reads an HTTP/1.1 chunked response off a raw socket, chunk by chunk as framed on the wire. */
async function rawChunks(url: string, body: string, chunksWanted: number): Promise<Uint8Array[]> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(
    `POST /api/v1/scheduler HTTP/1.1\r\nHost: ${hostname}\r\n` +
      `Content-Type: application/json\r\n` +
      `Authorization: ${basic(CREDENTIALS.principal, CREDENTIALS.secret)}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  let buffered = Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let headersDone = false;
  const parse = (): void => {
    if (!headersDone) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(buffered.subarray(0, end).toString(), /transfer-encoding: chunked/i);
      buffered = buffered.subarray(end + 4);
      headersDone = true;
    }
    for (;;) {
      const lineEnd = buffered.indexOf('\r\n');
      if (lineEnd < 0) return;
      const size = parseInt(buffered.subarray(0, lineEnd).toString(), 16);
      if (buffered.length < lineEnd + 2 + size + 2) return;
      chunks.push(new Uint8Array(buffered.subarray(lineEnd + 2, lineEnd + 2 + size)));
      buffered = buffered.subarray(lineEnd + 2 + size + 2);
    }
  };
  socket.on('data', (data: Buffer) => {
    buffered = Buffer.concat([buffered, data]);
    parse();
  });
  try {
    await until(() => chunks.length >= chunksWanted, `${chunksWanted} chunks`);
  } finally {
    socket.destroy();
  }
  return chunks;
}

test('each event is its own HTTP chunk holding exactly one RecordIO record', () =>
  withMaster(async (master) => {
    const chunks = await rawChunks(master.url, JSON.stringify(subscribeCall()), 3);
    const types = chunks.map((chunk) => {
      const decoder = new RecordIoDecoder();
      const records = decoder.push(chunk);
      assert.ok(records.ok && records.value.length === 1, 'one whole record per chunk');
      assert.ok(decoder.end().ok, 'nothing left over');
      return (JSON.parse(new TextDecoder().decode(records.value[0])) as { type: string }).type;
    });
    assert.equal(types, ['SUBSCRIBED', 'HEARTBEAT', 'HEARTBEAT']);
  }));

test('a closed stream disconnects the framework; resubscribing with its id fails over', () =>
  withMaster(async (master, keys) => {
    const context = contextOf(master);
    const auth: Auth = { encoding: 'cbor', identity: keys.framework };
    const first = new FrameworkClient(master.url, auth, keys.masterPublic);
    await first.subscribe(subscribeCall());
    const frameworkId = (await first.next('SUBSCRIBED')).subscribed.framework_id.value;

    first.disconnect();
    await until(
      () => context.driver.view().frameworks.get(frameworkId)?.streamId === undefined,
      'the framework to be disconnected',
    );
    assert.ok(context.driver.view().frameworks.get(frameworkId)?.failoverDeadlineMs);

    const second = new FrameworkClient(master.url, auth, keys.masterPublic);
    const response = await second.subscribe(subscribeCall({ id: frameworkId }));
    assert.is(response.status, 200);
    const resubscribed = await second.next('SUBSCRIBED');
    assert.is(resubscribed.subscribed.framework_id.value, frameworkId);

    // A third stream supersedes the second: the old one gets ERROR and ends.
    const third = new FrameworkClient(master.url, auth, keys.masterPublic);
    await third.subscribe(subscribeCall({ id: frameworkId }));
    await third.next('SUBSCRIBED');
    const error = await second.next('ERROR');
    assert.match(error.error.message, /failed over/);
    await until(() => second.ended, 'the superseded stream to end');
    assert.is(context.driver.view().frameworks.get(frameworkId)?.streamId, third.streamId);

    // Calls on the superseded stream are refused.
    const stale = await second.call({ type: 'REVIVE', framework_id: { value: frameworkId } });
    assert.is(stale.status, 403);
    third.disconnect();
  }));

test('SUBSCRIBE with suppressed_roles starts suppressed', () =>
  withMaster(async (master, keys) => {
    const context = contextOf(master);
    const framework = cborFramework(master.url, keys);
    const call: SchedulerCall = {
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: { user: 'u', name: 'n', role: '*' },
        suppressed_roles: ['*'],
      },
    };
    assert.is((await framework.subscribe(call)).status, 200);
    const id = (await framework.next('SUBSCRIBED')).subscribed.framework_id.value;
    await until(() => context.driver.view().frameworks.get(id)?.suppressed, 'suppressed');
    framework.disconnect();
  }));

test.run();
