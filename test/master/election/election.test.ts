import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZkSession, OPEN_ACL } from '../../../lib/zookeeper/client.js';
import { isZkError } from '../../../lib/zookeeper/errors.js';
import { LeaderDetector } from '../../../master/election/detector.js';
import { LeaderElection } from '../../../master/election/election.js';
import { mastersPath } from '../../../master/election/layout.js';
import { ZkRegistryStore } from '../../../master/registry/zk-store.js';
import { ZkEnsemble, waitFor } from '../../support/zookeeper.js';
import { TEST_ELECTION_LIMITS, candidate, leaders, type Candidate } from './harness.js';

const credentials = { user: 'masters', password: 'election-test' };
const sessionMs = TEST_ELECTION_LIMITS.sessionTimeoutMs;
/** Failover deadline: the session timeout plus a margin for a busy two-core machine. */
const failoverMs = sessionMs + 20_000;
let zk: ZkEnsemble;
const stoppers: (() => Promise<unknown>)[] = [];

function track(each: Candidate): Candidate {
  stoppers.push(() => each.election.stop());
  return each;
}

test.before(async () => {
  zk = await ZkEnsemble.start(1);
});

test.after(async () => {
  for (const stop of stoppers.reverse()) await stop();
  await zk.close();
});

test('three candidates elect exactly one leader, and the detector names it', async () => {
  const all = ['a', 'b', 'c'].map((name) =>
    track(candidate(name, zk.servers(), '/one', credentials)),
  );
  await waitFor(() => leaders(all).length === 1, failoverMs, 'a leader');
  const detector = new LeaderDetector({
    servers: zk.servers(),
    rootPath: '/one',
    limits: TEST_ELECTION_LIMITS,
  });
  stoppers.push(() => detector.stop());
  detector.start();
  const seen = await detector.waitForLeader(failoverMs);
  assert.equal(leaders(all), [seen.id]);
  assert.is(seen.address, `http://${seen.id}.test:5050`);
  const elected = all.flatMap((each) => each.events.filter((event) => event.type === 'elected'));
  assert.is(elected.length, 1);
});

test('when the leader goes, the next candidate leads; repeated until one is left', async () => {
  const all = ['a', 'b', 'c', 'd'].map((name) =>
    track(candidate(name, zk.servers(), '/chain', credentials)),
  );
  const detector = new LeaderDetector({
    servers: zk.servers(),
    rootPath: '/chain',
    limits: TEST_ELECTION_LIMITS,
  });
  stoppers.push(() => detector.stop());
  detector.start();
  const failoversMs: number[] = [];
  let alive = [...all];
  await waitFor(() => leaders(alive).length === 1, failoverMs, 'a first leader');
  while (alive.length > 1) {
    const leader = alive.find((each) => each.election.isLeading())!;
    const startedMs = Date.now();
    await leader.election.stop();
    assert.is(leader.election.isLeading(), false);
    assert.equal(leader.events.at(-1), { type: 'deposed', reason: 'stopped' });
    alive = alive.filter((each) => each !== leader);
    await waitFor(() => leaders(alive).length === 1, failoverMs, 'the next leader');
    failoversMs.push(Date.now() - startedMs);
    const next = leaders(alive)[0];
    await waitFor(() => detector.current()?.id === next, failoverMs, 'the detector to follow');
  }
  console.log(`failover after a clean stop: ${failoversMs.join(', ')} ms`);
});

test('the first candidate to join leads, and later ones wait in sequence order', async () => {
  const first = track(candidate('first', zk.servers(), '/order', credentials));
  await waitFor(() => first.election.isLeading(), failoverMs, 'first to lead');
  const second = track(candidate('second', zk.servers(), '/order', credentials));
  await waitFor(() => second.election.fencePath !== undefined, failoverMs, 'second to join');
  assert.ok(first.election.fencePath! < second.election.fencePath!);
  assert.is(second.election.isLeading(), false);
  assert.ok(first.election.isLeading());
});

test('strangers can read the election but cannot join it or remove the leader', async () => {
  const leader = track(candidate('guarded', zk.servers(), '/acl', credentials));
  await waitFor(() => leader.election.isLeading(), failoverMs, 'a leader');
  const stranger = await ZkSession.connect({
    servers: zk.servers(),
    sessionTimeoutMs: sessionMs,
    connectTimeoutMs: 3000,
    requestTimeoutMs: 2000,
  });
  try {
    const folder = mastersPath('/acl');
    const [znode] = await stranger.getChildren(folder);
    assert.match(
      new TextDecoder().decode((await stranger.getData(`${folder}/${znode}`)).data),
      /guarded/,
    );
    const join = await stranger
      .create(`${folder}/info_`, new Uint8Array(0), OPEN_ACL, 'ephemeral_sequential')
      .catch((error: unknown) => error);
    assert.ok(isZkError(join, 'no_auth'), String(join));
    const remove = await stranger.remove(`${folder}/${znode}`, -1).catch((error: unknown) => error);
    assert.ok(isZkError(remove, 'no_auth'), String(remove));
    assert.ok(leader.election.isLeading());
  } finally {
    await stranger.close();
  }
});

test('the lease is half the session timeout ZooKeeper granted, not the one asked for', async () => {
  // The test servers tick every 500 ms: ZooKeeper grants at most 20 ticks, 10 s.
  const election = new LeaderElection({
    servers: zk.servers(),
    rootPath: '/granted',
    info: { id: 'greedy', address: 'http://greedy.test:5050', publicKey: 'key' },
    limits: { ...TEST_ELECTION_LIMITS, sessionTimeoutMs: 30_000 },
    credentials,
  });
  stoppers.push(() => election.stop());
  assert.is(election.leaseMs, 15_000);
  election.start();
  await waitFor(() => election.isLeading(), failoverMs, 'the candidate to lead');
  assert.is(election.leaseMs, 5000);
});

interface ChildMessage {
  readonly type: 'ready' | 'result';
  readonly ok?: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly version?: string;
  readonly leading?: boolean;
}

function nextMessage(child: ChildProcess, timeoutMs: number): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not answer')), timeoutMs);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as ChildMessage);
    });
  });
}

test('a leader paused past its session timeout cannot overwrite its successor when resumed', async () => {
  const script = fileURLToPath(new URL('./stale-writer-child.js', import.meta.url));
  const child = fork(script, [zk.servers(), '/stale', JSON.stringify(credentials)], {
    stdio: 'inherit',
  });
  try {
    const ready = await nextMessage(child, 20_000);
    assert.is(ready.type, 'ready');
    const successor = track(candidate('successor', zk.servers(), '/stale', credentials));
    const store = new ZkRegistryStore({
      zookeeper: {
        servers: zk.servers(),
        sessionTimeoutMs: sessionMs,
        connectTimeoutMs: 3000,
        requestTimeoutMs: 2000,
      },
      rootPath: '/stale',
      credentials,
      fencePath: () => successor.election.fencePath,
    });
    stoppers.push(() => store.close());
    child.kill('SIGSTOP');
    await waitFor(
      () => successor.election.isLeading(),
      failoverMs + sessionMs,
      'the successor to lead',
    );
    const loaded = await store.load();
    assert.is(new TextDecoder().decode(loaded?.bytes), 'from the old leader');
    const written = await store.store(
      new TextEncoder().encode('from the new leader'),
      loaded?.version,
    );
    assert.ok(written.ok);
    const answer = nextMessage(child, 20_000);
    child.send({ type: 'write' });
    child.kill('SIGCONT');
    const result = await answer;
    assert.is(result.ok, false);
    assert.is(result.code, 'conflict', result.message);
    assert.is(result.leading, false);
    assert.is(new TextDecoder().decode((await store.load())?.bytes), 'from the new leader');
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
