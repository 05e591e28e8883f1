import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZkEnsemble, sleep, waitFor } from '../../support/zookeeper.js';
import { TEST_ELECTION_LIMITS, candidate, leaders, type Candidate } from './harness.js';

const credentials = { user: 'masters', password: 'quorum-test' };
const sessionMs = TEST_ELECTION_LIMITS.sessionTimeoutMs;
const failoverMs = sessionMs + 20_000;
let zk: ZkEnsemble;
let all: Candidate[] = [];

test.before(async () => {
  zk = await ZkEnsemble.start(3);
  all = ['a', 'b', 'c'].map((name) => candidate(name, zk.servers(), '/quorum', credentials));
  await waitFor(() => leaders(all).length === 1, 30_000, 'a first leader');
});

test.after(async () => {
  for (const each of all) await each.election.stop();
  await zk.close();
});

test('killing one ZooKeeper server of three keeps the same leader (no failover)', async () => {
  const [leader] = leaders(all);
  for (const id of zk.ids) {
    await zk.kill(id);
    await sleep(sessionMs);
    // Killing ZooKeeper's own leader makes the ensemble elect a new one, during which no
    // server answers: that can outlast the lease, so the master may pause leading. Its session
    // survives, so it resumes; nobody else may lead meanwhile.
    await waitFor(() => leaders(all).join() === leader, 60_000, `after killing server ${id}`);
    await zk.restart(id);
  }
  const others = all.filter((each) => each.name !== leader);
  const electedElsewhere = others.flatMap((each) => each.events);
  assert.equal(electedElsewhere, []);
  const leaderEvents = all.find((each) => each.name === leader)!.events;
  const reasons = leaderEvents.flatMap((event) => (event.type === 'deposed' ? [event.reason] : []));
  assert.ok(
    reasons.every((reason) => reason === 'lease_expired'),
    `the session survived: ${reasons.join()}`,
  );
});

test('losing the ZooKeeper quorum deposes the leader; restoring it elects a leader again', async () => {
  await waitFor(() => leaders(all).length === 1, 60_000, 'a leader to start from');
  const leader = all.find((each) => each.election.isLeading())!;
  await zk.stop(2);
  await zk.stop(3);
  await waitFor(() => leaders(all).length === 0, failoverMs, 'the leader to step down');
  // isLeading() reads the lease clock; the event follows on the next probe tick.
  await waitFor(() => leader.events.at(-1)?.type === 'deposed', failoverMs, 'the deposed event');
  await sleep(sessionMs);
  assert.equal(leaders(all), [], 'nobody may lead without a quorum');
  await zk.restart(2, false);
  await zk.restart(3, false);
  await waitFor(() => leaders(all).length === 1, 60_000, 'a leader after the quorum is back');
  const [next] = leaders(all);
  assert.equal(all.find((each) => each.name === next)?.events.at(-1)?.type, 'elected');
});

test.run();
