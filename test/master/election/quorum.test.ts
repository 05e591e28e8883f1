import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZkEnsemble, sleep, waitFor } from '../../support/zookeeper.js';
import { TEST_ELECTION_LIMITS, candidate, leaders, type Candidate } from './harness.js';

const credentials = { user: 'masters', password: 'quorum-test' };
const sessionMs = TEST_ELECTION_LIMITS.sessionTimeoutMs;
const failoverMs = sessionMs + 3000;
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

test('killing one ZooKeeper server of three keeps the same leader', async () => {
  const [leader] = leaders(all);
  for (const id of zk.ids) {
    await zk.kill(id);
    await sleep(sessionMs);
    assert.equal(leaders(all), [leader], `after killing server ${id}`);
    await zk.restart(id);
  }
  const deposed = all.flatMap((each) => each.events.filter((event) => event.type === 'deposed'));
  assert.equal(deposed, []);
});

test('losing the ZooKeeper quorum deposes the leader; restoring it elects a leader again', async () => {
  const leader = all.find((each) => each.election.isLeading())!;
  await zk.stop(2);
  await zk.stop(3);
  await waitFor(() => leaders(all).length === 0, failoverMs, 'the leader to step down');
  assert.equal(leader.events.at(-1)?.type, 'deposed');
  await sleep(sessionMs);
  assert.equal(leaders(all), [], 'nobody may lead without a quorum');
  await zk.restart(2, false);
  await zk.restart(3, false);
  await waitFor(() => leaders(all).length === 1, 60_000, 'a leader after the quorum is back');
  const [next] = leaders(all);
  assert.equal(all.find((each) => each.name === next)?.events.at(-1)?.type, 'elected');
});

test.run();
