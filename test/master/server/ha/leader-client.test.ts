import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_LEADER_CLIENT_LIMITS,
  LeaderFollower,
  findLeader,
  parseMasterLocation,
} from '../../../../cli/client/leader.js';
import type { MasterInfo } from '../../../../master/election/layout.js';
import { leaderGate, type LeaderView } from '../../../../master/server/leader-gate.js';
import { ZkEnsemble, waitFor } from '../../../support/zookeeper.js';
import { TEST_ELECTION_LIMITS } from '../../election/harness.js';
import { master, serving, type Master } from './harness.js';

const credentials = { user: 'masters', password: 'client-test' };
const failoverMs = TEST_ELECTION_LIMITS.sessionTimeoutMs + 20_000;
let zk: ZkEnsemble;
const stoppers: (() => Promise<unknown>)[] = [];

test.before(async () => {
  zk = await ZkEnsemble.start(1);
});

test.after(async () => {
  for (const stop of stoppers.reverse()) await stop();
  await zk.close();
});

test('parseMasterLocation takes zk:// URLs and lists of http(s) master URLs', () => {
  const zkLocation = parseMasterLocation('zk://h1:2181,h2/wasmos');
  assert.ok(zkLocation.ok && zkLocation.value.kind === 'zookeeper');
  assert.equal(zkLocation.ok && zkLocation.value, {
    kind: 'zookeeper',
    zk: { servers: 'h1:2181,h2:2181', rootPath: '/wasmos' },
  });
  assert.equal(parseMasterLocation('http://a:5050/, https://b/prefix/').ok, true);
  const urls = parseMasterLocation('http://a:5050/,https://b/prefix/');
  assert.equal(urls.ok && urls.value, {
    kind: 'urls',
    urls: ['http://a:5050', 'https://b/prefix'],
  });
  for (const bad of ['zk://h1/', 'ftp://a', 'http://a:5050,', 'a:5050', 'http://u:p@a']) {
    assert.is(parseMasterLocation(bad).ok, false, bad);
  }
  const many = Array.from({ length: DEFAULT_LEADER_CLIENT_LIMITS.urlsMax + 1 }, () => 'http://a');
  assert.is(parseMasterLocation(many.join(',')).ok, false);
});

test('findLeader reads the leader from ZooKeeper without credentials, and follows a failover', async () => {
  const all: Master[] = ['a', 'b', 'c'].map((name) => {
    const each = master(name, zk.servers(), '/find', credentials);
    stoppers.push(() => each.leadership.stop());
    each.leadership.start();
    return each;
  });
  await waitFor(() => serving(all).length === 1, failoverMs, 'a leader');
  const location = parseMasterLocation(`zk://${zk.servers()}/find`);
  assert.ok(location.ok && location.value.kind === 'zookeeper');
  if (!location.ok || location.value.kind !== 'zookeeper') return;
  const options = { election: TEST_ELECTION_LIMITS };
  const first = await findLeader(location.value.zk, options);
  assert.equal(serving(all), [first.id]);
  assert.is(first.address, `http://${first.id}.test:5050`);
  await all.find((each) => each.name === first.id)!.leadership.stop();
  await waitFor(() => serving(all).length === 1, failoverMs, 'the next leader');
  const second = await findLeader(location.value.zk, options);
  assert.equal(serving(all), [second.id]);
  assert.is.not(second.id, first.id);
});

test('findLeader gives up after its timeout when no master ever ran', async () => {
  const location = parseMasterLocation(`zk://${zk.servers()}/nobody`);
  if (!location.ok || location.value.kind !== 'zookeeper') throw new Error('bad location');
  const limits = { ...DEFAULT_LEADER_CLIENT_LIMITS, findTimeoutMs: 1000 };
  const found = await findLeader(location.value.zk, { limits, election: TEST_ELECTION_LIMITS })
    .then(() => 'found')
    .catch((error: unknown) => String(error));
  assert.match(found, /no leading master found/);
});

/** A master's HTTP face: the gate in front of a scheduler route that echoes who handled it. */
interface FakeMaster {
  readonly name: string;
  url: string;
  info(): MasterInfo;
  state: { serving: boolean; leader: MasterInfo | undefined };
  readonly handled: string[];
  server?: ServerType;
}

async function fakeMaster(name: string): Promise<FakeMaster> {
  const fake: FakeMaster = {
    name,
    url: '',
    info: () => ({ id: name, address: fake.url, publicKey: name }),
    state: { serving: false, leader: undefined },
    handled: [],
  };
  const view: LeaderView = { isServing: () => fake.state.serving, leader: () => fake.state.leader };
  const app = new Hono();
  app.use('/api/v1/scheduler', leaderGate(view));
  app.post('/api/v1/scheduler', async (c) => {
    fake.handled.push(await c.req.text());
    return c.json({ handledBy: name });
  });
  await new Promise<void>((resolve) => {
    fake.server = serve(
      { fetch: app.fetch, port: 0, hostname: '127.0.0.1' },
      (info: AddressInfo) => {
        fake.url = `http://127.0.0.1:${info.port}`;
        resolve();
      },
    );
  });
  stoppers.push(() => new Promise((resolve) => fake.server?.close(resolve)));
  return fake;
}

function lead(masters: readonly FakeMaster[], leader: FakeMaster | undefined): void {
  for (const each of masters) {
    each.state.serving = each === leader;
    each.state.leader = leader?.info();
  }
}

test('LeaderFollower follows 307s to the leader with the body, skips dead and leaderless masters', async () => {
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(fakeMaster));
  if (!a || !b || !c) throw new Error('three masters');
  const dead = 'http://127.0.0.1:1';
  const follower = new LeaderFollower([dead, a.url, b.url, c.url], {
    ...DEFAULT_LEADER_CLIENT_LIMITS,
    retryDelayMs: 50,
    findTimeoutMs: 20_000,
  });
  const call = (body: string) =>
    follower
      .fetch('/api/v1/scheduler', { method: 'POST', body })
      .then((response) => response.json() as Promise<{ handledBy: string }>);

  lead([a, b, c], b);
  assert.equal(await call('one'), { handledBy: 'b' });
  assert.is(follower.current, b.url);
  assert.equal(b.handled, ['one']);

  // b fails over to c; a still points at b for a moment, b knows no leader (503).
  b.state.serving = false;
  b.state.leader = undefined;
  c.state.serving = true;
  c.state.leader = c.info();
  assert.equal(await call('two'), { handledBy: 'c' });
  assert.is(follower.current, c.url);
  assert.equal(c.handled, ['two']);
  assert.equal(a.handled, []);
});

test('LeaderFollower reports masters that redirect in a loop, and gives up when none leads', async () => {
  const [a, b] = await Promise.all(['x', 'y'].map(fakeMaster));
  if (!a || !b) throw new Error('two masters');
  a.state.leader = b.info();
  b.state.leader = a.info();
  const limits = { ...DEFAULT_LEADER_CLIENT_LIMITS, retryDelayMs: 50, findTimeoutMs: 500 };
  const looping = await new LeaderFollower([a.url], limits)
    .fetch('/api/v1/scheduler', { method: 'POST', body: 'x' })
    .then(() => 'answered')
    .catch((error: unknown) => String(error));
  assert.match(looping, /more than 5 redirects/);
  lead([a, b], undefined);
  const none = await new LeaderFollower([a.url, b.url], limits)
    .fetch('/api/v1/scheduler', { method: 'POST', body: 'x' })
    .then(() => 'answered')
    .catch((error: unknown) => String(error));
  assert.match(none, /no leader known/);
  assert.equal([...a.handled, ...b.handled], []);
});

test.run();
