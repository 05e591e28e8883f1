/**
 * Real `wasmos master --zk` processes on a real ZooKeeper: three masters, one leads, the others
 * redirect to it; kill -9 the leader (twice in a row) and another one takes over and says so;
 * a leader paused past its session timeout comes back as a standby.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ZkEnsemble } from '../../../support/zookeeper.js';
import { makeClusterKeys, type ClusterKeys } from '../../../e2e/support/keys.js';
import { until } from '../../../support/until.js';
import { HaMasterProcess, type HaMasterArgs } from './master-process.js';

const LEADER_HEADER = 'wasmos-leader';
/** Generous: a session timeout of 2 s plus JVM and Node start-ups on a loaded machine. */
const DEADLINE_MS = 90_000;
let zk: ZkEnsemble;
let keys: ClusterKeys;
const masters: HaMasterProcess[] = [];

interface StandbyState {
  readonly id: string;
  readonly leading: boolean;
  readonly leader: { readonly id: string; readonly address: string } | null;
}

async function get(url: string): Promise<Response | undefined> {
  return fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
}

/** What a master's /api/v1/state says: "me" if it serves as leader, else the leader it names. */
async function namedLeader(master: HaMasterProcess): Promise<string | undefined> {
  const response = await get(`${master.url}/api/v1/state`);
  if (response?.status !== 200) return undefined;
  const header = response.headers.get(LEADER_HEADER);
  if (header === master.url) {
    await response.body?.cancel();
    return 'me';
  }
  const body = (await response.json()) as StandbyState;
  return body.leading === false ? body.leader?.address : undefined;
}

/** The master that serves as leader and that every other one names, if any. */
async function agreedLeader(live: readonly HaMasterProcess[]): Promise<HaMasterProcess | false> {
  const named = await Promise.all(live.map(namedLeader));
  const leader = live.find((_, index) => named[index] === 'me');
  if (!leader) return false;
  return named.every((each, index) => live[index] === leader || each === leader.url) && leader;
}

async function cluster(rootPath: string): Promise<HaMasterProcess[]> {
  const credentialsFile = join(keys.dir, 'zk-credentials');
  await writeFile(credentialsFile, 'masters:failover-test\n', { mode: 0o600 });
  const args: HaMasterArgs = {
    workDir: join(keys.dir, rootPath),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    zkUrl: `zk://${zk.servers()}/${rootPath}`,
    credentialsFile,
    sessionTimeout: '2s',
  };
  const started = await Promise.all(
    ['m0', 'm1', 'm2'].map((name) => HaMasterProcess.start(name, args)),
  );
  masters.push(...started);
  return started;
}

test.before(async () => {
  zk = await ZkEnsemble.start(1);
  keys = await makeClusterKeys(0);
});

test.after(async () => {
  await Promise.all(masters.map((master) => master.kill()));
  await zk.close();
  await rm(keys.dir, { recursive: true, force: true });
});

test('one leads and standbys redirect to it; kill -9 the leader twice and another leads', async () => {
  let live = await cluster('kills');
  const first = await until(() => agreedLeader(live), 'a leader all agree on', DEADLINE_MS);
  const standby = live.find((each) => each !== first)!;
  const redirected = await fetch(`${standby.url}/api/v1/scheduler`, {
    method: 'POST',
    body: 'x',
    redirect: 'manual',
  });
  assert.is(redirected.status, 307);
  assert.is(redirected.headers.get('location'), `${first.url}/api/v1/scheduler`);

  for (const round of [1, 2]) {
    const leader = await until(() => agreedLeader(live), 'the current leader', DEADLINE_MS);
    const killedAt = Date.now();
    await leader.kill();
    live = live.filter((each) => each !== leader);
    const next = await until(() => agreedLeader(live), `a leader after kill ${round}`, DEADLINE_MS);
    console.log(`kill ${round}: new leader after ${Date.now() - killedAt} ms (session 2 s)`);
    assert.is.not(next.url, leader.url);
    // Polled, not asked once: one answer can be slow on a loaded machine (5 s per request).
    await until(
      async () => {
        const response = await get(`${next.url}/health`);
        return (
          response?.status === 200 && ((await response.json()) as { healthy: boolean }).healthy
        );
      },
      `the leader after kill ${round} to be healthy`,
      DEADLINE_MS,
    );
  }
});

test('a leader paused past its session timeout comes back as a standby naming the new leader', async () => {
  const live = await cluster('paused');
  const paused = await until(() => agreedLeader(live), 'a leader all agree on', DEADLINE_MS);
  paused.signal('SIGSTOP');
  const others = live.filter((each) => each !== paused);
  const successor = await until(() => agreedLeader(others), 'a successor', DEADLINE_MS);
  paused.signal('SIGCONT');
  await until(
    async () => (await namedLeader(paused)) === successor.url,
    'the resumed master to name its successor',
    DEADLINE_MS,
  );
  // Polled: under load a single answer can time out, and a leader whose 1 s lease lapsed
  // (a slow ZooKeeper round trip) pauses serving until it renews it, with the same session.
  const agreed = await until(() => agreedLeader(live), 'all three to agree', DEADLINE_MS);
  assert.is.not(agreed, paused, 'the resumed master does not lead');
  assert.ok(
    paused.messages.some((message) => message.startsWith('deposed: stopping the leading master')),
    paused.messages.join(' | '),
  );
});

test.run();
