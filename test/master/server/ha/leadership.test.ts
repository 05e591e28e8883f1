import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZkRegistryStore } from '../../../../master/registry/zk-store.js';
import { ZkEnsemble, waitFor } from '../../../support/zookeeper.js';
import { TEST_ELECTION_LIMITS } from '../../election/harness.js';
import { master, serving, type Master } from './harness.js';
import { runningTerms } from './recorder.js';

const credentials = { user: 'masters', password: 'leadership-test' };
const sessionMs = TEST_ELECTION_LIMITS.sessionTimeoutMs;
/** Generous: the session timeout plus a wide margin for a loaded two-core machine. */
const failoverMs = sessionMs + 20_000;
let zk: ZkEnsemble;
const stoppers: (() => Promise<unknown>)[] = [];

function started(each: Master): Master {
  stoppers.push(() => each.leadership.stop());
  each.leadership.start();
  return each;
}

function readRegistry(rootPath: string): Promise<string | undefined> {
  const store = new ZkRegistryStore({
    zookeeper: {
      servers: zk.servers(),
      sessionTimeoutMs: sessionMs,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 5000,
    },
    rootPath,
    credentials,
  });
  return store
    .load()
    .then((loaded) => loaded && new TextDecoder().decode(loaded.bytes))
    .finally(() => store.close());
}

test.before(async () => {
  zk = await ZkEnsemble.start(1);
});

test.after(async () => {
  for (const stop of stoppers.reverse()) await stop();
  await zk.close();
});

test('of three masters exactly one starts leading, on a fenced store; the others name it', async () => {
  const all = ['a', 'b', 'c'].map((name) =>
    started(master(name, zk.servers(), '/three', credentials)),
  );
  await waitFor(() => serving(all).length === 1, failoverMs, 'one master serving');
  const [leaderName] = serving(all);
  const leader = all.find((each) => each.name === leaderName)!;
  assert.equal(runningTerms(all.map((each) => each.recorder)), [leaderName]);
  assert.is(leader.recorder.terms.length, 1);
  assert.is(await readRegistry('/three'), `${leaderName} term 1`);
  assert.is(leader.leadership.leader()?.id, leaderName);
  for (const other of all.filter((each) => each !== leader)) {
    await waitFor(
      () => other.leadership.leader()?.id === leaderName,
      failoverMs,
      `${other.name} to name the leader`,
    );
    assert.is(other.leadership.leader()?.address, `http://${leaderName}.test:5050`);
    assert.is(other.recorder.calls, 0);
  }
});

test('a stopped leader stops its leading master, and the next candidate starts one', async () => {
  const all = ['a', 'b', 'c'].map((name) =>
    started(master(name, zk.servers(), '/handover', credentials)),
  );
  await waitFor(() => serving(all).length === 1, failoverMs, 'a first leader');
  const first = all.find((each) => each.leadership.isServing())!;
  await first.leadership.stop();
  assert.ok(first.recorder.terms[0]?.stopped, 'the leading master was stopped');
  assert.is(first.leadership.isServing(), false);
  const rest = all.filter((each) => each !== first);
  await waitFor(() => serving(rest).length === 1, failoverMs, 'the next leader');
  const [next] = serving(rest);
  assert.equal(runningTerms(all.map((each) => each.recorder)), [next]);
  assert.is(await readRegistry('/handover'), `${next} term 1`);
});

test('a start that fails while leading is retried until it succeeds', async () => {
  const only = master('retry', zk.servers(), '/retry', credentials);
  only.recorder.failNext = 2;
  started(only);
  await waitFor(() => only.leadership.isServing(), failoverMs, 'the third attempt to start');
  assert.is(only.recorder.calls, 3);
  assert.is(only.recorder.terms.length, 1);
  assert.ok(only.leadership.isLeading());
});

test('a leading master that fails is stopped and started again while this master leads', async () => {
  const only = started(master('phoenix', zk.servers(), '/phoenix', credentials));
  await waitFor(() => only.leadership.isServing(), failoverMs, 'the first start');
  only.recorder.terms[0]!.fail('registry unavailable');
  assert.ok(only.recorder.terms[0]!.stopped, 'stopped at once');
  assert.is(only.leadership.isServing(), false);
  await waitFor(() => only.leadership.isServing(), failoverMs, 'the restart');
  assert.is(only.recorder.terms.length, 2);
  assert.is(only.recorder.terms[1]!.stopped, false);
  assert.is(await readRegistry('/phoenix'), 'phoenix term 2');
});

test('losing ZooKeeper stops the leading master at once; when it is back a leader starts again', async () => {
  const all = ['a', 'b'].map((name) => started(master(name, zk.servers(), '/outage', credentials)));
  await waitFor(() => serving(all).length === 1, failoverMs, 'a first leader');
  const leader = all.find((each) => each.leadership.isServing())!;
  await zk.kill(1);
  await waitFor(() => leader.recorder.terms[0]?.stopped === true, failoverMs, 'the stop');
  assert.equal(serving(all), []);
  assert.equal(runningTerms(all.map((each) => each.recorder)), []);
  await zk.restart(1);
  await waitFor(() => serving(all).length === 1, 60_000, 'a leader once ZooKeeper is back');
  const [now] = serving(all);
  const recorded = all.find((each) => each.name === now)!.recorder;
  assert.equal(runningTerms(all.map((each) => each.recorder)), [now]);
  assert.is(await readRegistry('/outage'), `${now} term ${recorded.terms.length}`);
});

function nextMessage(child: ChildProcess, timeoutMs: number): Promise<{ type: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not report')), timeoutMs);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as { type: string });
    });
  });
}

test('kill -9 of the leading process: a standby starts leading after the session expires', async () => {
  const script = fileURLToPath(new URL('./leadership-child.js', import.meta.url));
  const child = fork(script, [zk.servers(), '/killed', JSON.stringify(credentials), 'doomed'], {
    stdio: 'inherit',
  });
  try {
    assert.is((await nextMessage(child, 30_000)).type, 'leading');
    const standby = started(master('standby', zk.servers(), '/killed', credentials));
    await waitFor(
      () => standby.leadership.leader()?.id === 'doomed',
      failoverMs,
      'the standby to see the leader',
    );
    assert.is(standby.recorder.calls, 0);
    child.kill('SIGKILL');
    await waitFor(() => standby.leadership.isServing(), failoverMs, 'the standby to lead');
    assert.is(standby.leadership.leader()?.id, 'standby');
    assert.is(await readRegistry('/killed'), 'standby term 1');
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
