/**
 * Which master the agent's channel subscribes to, with real HTTP servers on loopback playing
 * masters (a standby that redirects, a leader that opens a stream, one that knows no leader):
 * a redirect is followed; when the leader the agent was redirected to dies, the next
 * subscription goes back to the configured list instead of retrying the dead leader.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentChannel, AGENT_PATH } from '../../agent/connection/channel.js';
import { MasterLocator } from '../../agent/connection/masters.js';
import { systemClock } from '../../lib/clock.js';
import { generateIdentity, Signer, TrustStore, type AgentCall } from '../../protocol/index.js';

type Behaviour = { kind: 'leader' } | { kind: 'redirect'; to: () => string } | { kind: 'none' };

interface FakeMaster {
  readonly url: string;
  behaviour: Behaviour;
  readonly hits: string[];
  close(): Promise<void>;
}

const servers: Server[] = [];

async function master(behaviour: Behaviour): Promise<FakeMaster> {
  const hits: string[] = [];
  const state = { behaviour };
  const server = createServer((request, response) => {
    hits.push(request.url ?? '');
    request.resume();
    const now = state.behaviour;
    if (now.kind === 'redirect') {
      response.writeHead(307, { location: `${now.to()}${AGENT_PATH}` }).end();
    } else if (now.kind === 'none') {
      response.writeHead(503, { 'retry-after': '1' }).end('no leader');
    } else {
      // A stream that stays open (no events): enough for the channel to take it.
      response.writeHead(200, {
        'content-type': 'application/recordio',
        'mesos-stream-id': 'stream-1',
      });
      response.flushHeaders();
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(value: Behaviour) {
      state.behaviour = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test.after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

const call: AgentCall = {
  type: 'REGISTER',
  register: {
    agent_info: { hostname: 'h', resources: [], attributes: [], runtimes: ['wasm'], version: '0' },
  },
};

function channel(masterUrl: string): AgentChannel {
  return new AgentChannel({
    masterUrl,
    signer: new Signer(generateIdentity()),
    trust: new TrustStore([]),
    clock: systemClock,
    requestTimeoutMs: 10_000,
    locatorLimits: { roundRetryMs: 50, findTimeoutMs: 30_000 },
  });
}

test('a redirect is followed; when that leader dies, the configured list is tried again', async () => {
  const first = await master({ kind: 'leader' });
  const second = await master({ kind: 'leader' });
  const standby = await master({ kind: 'redirect', to: () => first.url });
  const agent = channel(`${standby.url},http://127.0.0.1:1`);
  const one = await agent.subscribe(call);
  assert.ok(one.ok, one.ok ? '' : one.error.message);
  assert.is(agent.master, first.url);
  one.value.close();

  // The leader dies; the standby now names another leader.
  await first.close();
  standby.behaviour = { kind: 'redirect', to: () => second.url };
  const two = await agent.subscribe(call);
  assert.ok(two.ok, two.ok ? '' : two.error.message);
  assert.is(agent.master, second.url);
  two.value.close();
  await agent.close();
});

test('masters that know no leader are gone round until one leads', async () => {
  const a = await master({ kind: 'none' });
  const b = await master({ kind: 'none' });
  const agent = channel(`${a.url},${b.url}`);
  const pending = agent.subscribe(call);
  // Both are asked (at least one whole round) before b becomes the leader.
  await until(() => a.hits.length >= 1 && b.hits.length >= 1);
  b.behaviour = { kind: 'leader' };
  const subscribed = await pending;
  assert.ok(subscribed.ok, subscribed.ok ? '' : subscribed.error.message);
  assert.is(agent.master, b.url);
  subscribed.value.close();
  await agent.close();
});

test('a bad redirect or an unreachable list is a failure, not a crash; bad locations are refused', async () => {
  const liar = await master({ kind: 'redirect', to: () => 'ftp://elsewhere' });
  const agent = new AgentChannel({
    masterUrl: liar.url,
    signer: new Signer(generateIdentity()),
    trust: new TrustStore([]),
    clock: systemClock,
    requestTimeoutMs: 10_000,
    locatorLimits: { roundRetryMs: 50, findTimeoutMs: 300 },
  });
  const refused = await agent.subscribe(call);
  assert.is(refused.ok, false);
  assert.is(!refused.ok && refused.error.code, 'NO_LEADER');
  await agent.close();
  for (const bad of ['ftp://x', 'http://a,', 'zk://h/'])
    assert.is(MasterLocator.from(bad).ok, false, bad);
});

async function until(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not met within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test.run();
