import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hono } from 'hono';
import type { MasterInfo } from '../../../../master/election/layout.js';
import {
  LEADER_HEADER,
  leaderGate,
  leaderHeader,
  leaderSummary,
  redirectTarget,
  type LeaderView,
} from '../../../../master/server/leader-gate.js';

const self: MasterInfo = { id: 'm2', address: 'http://10.0.0.2:5050', publicKey: 'k2' };
const other: MasterInfo = { id: 'm1', address: 'http://10.0.0.1:5050', publicKey: 'k1' };

/** A view the test flips between the three situations a master can be in. */
function view(state: { serving: boolean; leader: MasterInfo | undefined }): LeaderView {
  return { isServing: () => state.serving, leader: () => state.leader };
}

function app(leaders: LeaderView): { app: Hono; handled: string[] } {
  const handled: string[] = [];
  const routes = new Hono();
  routes.use('/api/v1/scheduler', leaderGate(leaders));
  routes.use('/api/v1/agent/*', leaderGate(leaders));
  routes.post('/api/v1/scheduler', async (c) => {
    handled.push(`scheduler ${await c.req.text()}`);
    return c.json({ accepted: true }, 202);
  });
  routes.get('/api/v1/agent/stream', (c) => {
    handled.push('agent stream');
    return c.text('events');
  });
  routes.use('/api/v1/state', leaderHeader(leaders));
  routes.get('/api/v1/state', (c) => c.json({ id: self.id, ...leaderSummary(leaders) }));
  return { app: routes, handled };
}

test('the leader serves framework and agent calls itself', async () => {
  const { app: routes, handled } = app(view({ serving: true, leader: self }));
  const response = await routes.request('/api/v1/scheduler', { method: 'POST', body: 'call' });
  assert.is(response.status, 202);
  assert.is((await routes.request('/api/v1/agent/stream')).status, 200);
  assert.equal(handled, ['scheduler call', 'agent stream']);
});

test('a standby answers 307 to the same path and query on the leader, without handling', async () => {
  const { app: routes, handled } = app(view({ serving: false, leader: other }));
  const response = await routes.request('/api/v1/scheduler?x=1', { method: 'POST', body: 'c' });
  assert.is(response.status, 307);
  assert.is(response.headers.get('location'), 'http://10.0.0.1:5050/api/v1/scheduler?x=1');
  assert.is(response.headers.get(LEADER_HEADER), other.address);
  const agent = await routes.request('/api/v1/agent/stream');
  assert.is(agent.status, 307);
  assert.is(agent.headers.get('location'), 'http://10.0.0.1:5050/api/v1/agent/stream');
  assert.equal(handled, []);
});

test('with no leader known, gated calls get 503 with a JSON error and Retry-After', async () => {
  const { app: routes, handled } = app(view({ serving: false, leader: undefined }));
  const response = await routes.request('/api/v1/scheduler', { method: 'POST', body: 'c' });
  assert.is(response.status, 503);
  assert.ok(response.headers.get('retry-after'));
  const body = (await response.json()) as { error: { code: string } };
  assert.is(body.error.code, 'NO_LEADER');
  assert.equal(handled, []);
});

test('a leader address that is not an http(s) origin is refused with 503, not followed', async () => {
  for (const address of ['javascript:alert(1)', 'not a url', 'http://u:p@10.0.0.1:5050']) {
    const { app: routes } = app(view({ serving: false, leader: { ...other, address } }));
    const response = await routes.request('/api/v1/scheduler', { method: 'POST', body: 'c' });
    assert.is(response.status, 503, address);
    assert.is(response.headers.get('location'), null);
  }
});

test('read-only state is served on every master and names the leader', async () => {
  const state = { serving: false, leader: other as MasterInfo | undefined };
  const { app: routes } = app(view(state));
  const standby = await routes.request('/api/v1/state');
  assert.is(standby.status, 200);
  assert.is(standby.headers.get(LEADER_HEADER), other.address);
  assert.equal(await standby.json(), {
    id: 'm2',
    leading: false,
    leader: { id: 'm1', address: other.address },
  });
  state.leader = undefined;
  const alone = await routes.request('/api/v1/state');
  assert.is(alone.headers.get(LEADER_HEADER), null);
  assert.equal(await alone.json(), { id: 'm2', leading: false, leader: null });
  state.serving = true;
  state.leader = self;
  assert.equal(await (await routes.request('/api/v1/state')).json(), {
    id: 'm2',
    leading: true,
    leader: { id: 'm2', address: self.address },
  });
});

test('redirectTarget keeps a path prefix of the leader address and drops the request origin', () => {
  assert.is(
    redirectTarget('https://masters.example/m1/', 'http://10.0.0.2:5050/api/v1/state?a=b'),
    'https://masters.example/m1/api/v1/state?a=b',
  );
  assert.is(redirectTarget('ftp://x', 'http://h/p'), undefined);
});

test.run();
