/** The pure mapping between Mesos v1 scheduler messages and the core's inputs and events. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SchedulerEvent, type SchedulerCall } from '../../../protocol/index.js';
import type { OfferView } from '../../../master/core/messages.js';
import { Resources } from '../../../master/core/resources.js';
import {
  callInput,
  masterInfoFor,
  OFFERS_PER_EVENT_MAX,
  schedulerEventsOf,
  subscribeInput,
} from '../../../master/server/scheduler-mapping.js';

const masterInfo = masterInfoFor('m1', 'http://10.1.2.3:5050/api/v1/scheduler');

test('MasterInfo packs the IPv4 address as Mesos does, 0 for a name', () => {
  assert.equal(masterInfo, { id: 'm1', ip: 0x0302010a, port: 5050, hostname: '10.1.2.3' });
  assert.is(masterInfoFor('m1', 'http://master.example/x').ip, 0);
  assert.is(masterInfoFor('m1', 'http://master.example/x').port, 80);
});

test('every core event maps to a scheduler event the schema accepts', () => {
  const offer: OfferView = {
    id: 'O1',
    frameworkId: 'F1',
    agentId: 'S1',
    hostname: 'edge-1',
    role: 'default',
    resources: Resources.of({ cpus: 0.3, mem: 64, ports: [[31000, 31009]] }),
    runtimes: ['wasm'],
    attributes: { zone: 'edge-1' },
  };
  const events = [
    ...schedulerEventsOf(
      { type: 'subscribed', frameworkId: 'F1', heartbeatIntervalMs: 1500 },
      masterInfo,
    ),
    ...schedulerEventsOf({ type: 'offers', offers: [offer] }, masterInfo),
    ...schedulerEventsOf({ type: 'rescind', offerId: 'O1' }, masterInfo),
    ...schedulerEventsOf(
      {
        type: 'update',
        status: {
          taskId: 't',
          agentId: undefined,
          state: 'TASK_FAILED',
          source: 'SOURCE_EXECUTOR',
          reason: 'REASON_FUEL_EXHAUSTED',
          message: 'x'.repeat(10_000),
          timestampMs: 1500,
        },
      },
      masterInfo,
    ),
    ...schedulerEventsOf(
      { type: 'message', agentId: 'S1', executorId: 'e', data: new Uint8Array([1, 2, 3]) },
      masterInfo,
    ),
    ...schedulerEventsOf({ type: 'failure', agentId: 'S1' }, masterInfo),
    ...schedulerEventsOf({ type: 'error', message: 'bye' }, masterInfo),
  ];
  for (const event of events) assert.ok(SchedulerEvent.safeParse(event).success, event.type);
  assert.equal(
    events.map((event) => event.type),
    ['SUBSCRIBED', 'OFFERS', 'RESCIND', 'UPDATE', 'MESSAGE', 'FAILURE', 'ERROR'],
  );
  const offers = events[1]!;
  assert.ok(offers.type === 'OFFERS');
  assert.equal(offers.offers.offers[0]!.resources, [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.3 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31009 }] } },
  ]);
  const update = events[3]!;
  assert.ok(update.type === 'UPDATE');
  assert.is(update.update.status.timestamp, 1.5);
  assert.is(update.update.status.message?.length, 4096, 'long messages are clipped');
  const message = events[4]!;
  assert.ok(message.type === 'MESSAGE');
  assert.is(message.message.data, 'AQID');
});

test('many offers are split over several OFFERS events', () => {
  const offers: OfferView[] = Array.from({ length: OFFERS_PER_EVENT_MAX * 2 + 1 }, (_, index) => ({
    id: `O${index}`,
    frameworkId: 'F1',
    agentId: `S${index}`,
    hostname: 'h',
    role: 'default',
    resources: Resources.of({ cpus: 1 }),
    runtimes: ['wasm'],
    attributes: {},
  }));
  const events = schedulerEventsOf({ type: 'offers', offers }, masterInfo);
  assert.equal(
    events.map((event) => (event.type === 'OFFERS' ? event.offers.offers.length : 0)),
    [OFFERS_PER_EVENT_MAX, OFFERS_PER_EVENT_MAX, 1],
  );
});

test('SUBSCRIBE: role * and none are the default role; capabilities and failover map', () => {
  const call: Extract<SchedulerCall, { type: 'SUBSCRIBE' }> = {
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: 'u',
        name: 'n',
        role: '*',
        failover_timeout: 1.5,
        capabilities: [{ type: 'PARTITION_AWARE' }],
      },
    },
  };
  const input = subscribeInput(call, 's1', 'key:k', undefined);
  assert.ok(input.ok);
  assert.equal(input.value.framework, {
    name: 'n',
    role: 'default',
    user: 'u',
    principal: 'key:k',
    failoverTimeoutMs: 1500,
    partitionAware: true,
  });
});

test('calls carry the framework id and the stream id; filters become milliseconds', () => {
  const decline = callInput(
    {
      type: 'DECLINE',
      framework_id: { value: 'F1' },
      decline: { offer_ids: [{ value: 'O1' }], filters: { refuse_seconds: 2.5 } },
    },
    'stream',
  );
  assert.equal(decline, {
    ok: true,
    value: {
      kind: 'decline',
      frameworkId: 'F1',
      streamId: 'stream',
      offerIds: ['O1'],
      refuseMs: 2500,
    },
  });
  const revive = callInput(
    { type: 'REVIVE', framework_id: { value: 'F1' }, revive: { roles: ['*'] } },
    's',
  );
  assert.ok(revive.ok && revive.value.kind === 'revive');
  assert.equal(revive.value.roles, ['default']);
});

test.run();
