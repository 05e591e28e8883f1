import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../../lib/clock.js';
import { AgentLogBroker, type LogsRequest } from '../../../master/server/agent-logs.js';
import type { AgentCall, AgentEvent } from '../../../protocol/index.js';

type LogsRequestEvent = Extract<AgentEvent, { type: 'LOGS_REQUEST' }>['logs_request'];

function broker(limits = { requestsOutstandingMax: 2, timeoutMs: 1000, lengthMax: 100 }) {
  const clock = new ManualClock(0);
  const sent: { agentId: string; request: LogsRequestEvent }[] = [];
  const connected = new Set(['a1', 'a2']);
  const logs = new AgentLogBroker(
    (agentId, event) => {
      if (!connected.has(agentId) || event.type !== 'LOGS_REQUEST') return false;
      sent.push({ agentId, request: event.logs_request });
      return true;
    },
    clock,
    limits,
  );
  return { clock, sent, logs };
}

const request: LogsRequest = {
  agentId: 'a1',
  frameworkId: 'f1',
  taskId: 't1',
  stream: 'stdout',
  offset: 3,
  length: 10,
};

function answer(
  requestId: string,
  data: string,
  changes: Partial<Extract<AgentCall, { type: 'LOGS' }>['logs']> = {},
): Extract<AgentCall, { type: 'LOGS' }>['logs'] {
  return {
    agent_id: { value: 'a1' },
    request_id: requestId,
    framework_id: { value: 'f1' },
    task_id: { value: 't1' },
    stream: 'stdout',
    offset: 3,
    data: Buffer.from(data).toString('base64'),
    size: 20,
    complete: false,
    ...changes,
  };
}

test('an answer with the request id settles the request; the request carries offset and length', async () => {
  const { sent, logs } = broker();
  const pending = logs.request(request);
  assert.is(sent.length, 1);
  assert.is(sent[0]!.request.offset, 3);
  assert.is(sent[0]!.request.length, 10);
  assert.ok(logs.answer('a1', answer(sent[0]!.request.request_id, 'hello')));
  const chunk = await pending;
  assert.ok(chunk.ok);
  assert.is(Buffer.from(chunk.value.data).toString(), 'hello');
  assert.is(logs.outstanding, 0);
  assert.not.ok(logs.answer('a1', answer(sent[0]!.request.request_id, 'again')), 'settled once');
});

test('answers from another agent, about another task, or longer than asked are ignored', async () => {
  const { sent, logs, clock } = broker();
  const pending = logs.request(request);
  const id = sent[0]!.request.request_id;
  assert.not.ok(logs.answer('a2', answer(id, 'x')));
  assert.not.ok(logs.answer('a1', answer(id, 'x', { task_id: { value: 't2' } })));
  assert.not.ok(logs.answer('a1', answer(id, 'x', { stream: 'stderr' })));
  assert.not.ok(logs.answer('a1', answer(id, 'more than ten bytes')));
  clock.advanceMs(1000);
  const result = await pending;
  assert.is(!result.ok && result.error.code, 'TIMEOUT');
});

test('outstanding requests are bounded; a disconnect or an absent agent fails them at once', async () => {
  const { logs } = broker();
  const first = logs.request(request);
  const second = logs.request({ ...request, agentId: 'a2' });
  const third = await logs.request(request);
  assert.is(!third.ok && third.error.code, 'TOO_MANY_REQUESTS');
  logs.agentDisconnected('a1');
  const failed = await first;
  assert.is(!failed.ok && failed.error.code, 'AGENT_DISCONNECTED');
  assert.is(logs.outstanding, 1);
  logs.close();
  assert.is((await second).ok, false);
  const absent = await logs.request({ ...request, agentId: 'a3' });
  assert.is(!absent.ok && absent.error.code, 'AGENT_NOT_CONNECTED');
  assert.is(logs.outstanding, 0);
});

test('a length beyond the limit or a bad offset is refused before anything is sent', async () => {
  const { logs, sent } = broker();
  const long = await logs.request({ ...request, length: 101 });
  assert.is(!long.ok && long.error.code, 'INVALID');
  const negative = await logs.request({ ...request, offset: -1 });
  assert.is(!negative.ok && negative.error.code, 'INVALID');
  assert.is(sent.length, 0);
});

test.run();
