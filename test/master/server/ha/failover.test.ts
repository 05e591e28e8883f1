/**
 * Real `wasmos master --zk` processes on a real ZooKeeper: three masters, one leads, the others
 * redirect to it; kill -9 the leader and another one takes over and says so.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ZkEnsemble } from '../../../support/zookeeper.js';
import { makeClusterKeys, until, type ClusterKeys } from '../../../e2e/support/keys.js';
import { CliProcess } from '../../../e2e/support/processes.js';

const LEADER_HEADER = 'wasmos-leader';
/** Generous: a session timeout of 2 s plus JVM and Node start-ups on a loaded machine. */
const DEADLINE_MS = 90_000;
let zk: ZkEnsemble;
let keys: ClusterKeys;
const masters: Master[] = [];

interface Master {
  readonly process: CliProcess;
  readonly url: string;
}

interface StandbyState {
  readonly id: string;
  readonly leading: boolean;
  readonly leader: { readonly id: string; readonly address: string } | null;
}

async function startMaster(index: number, credentialsFile: string): Promise<Master> {
  const process = new CliProcess([
    'master',
    '--work-dir',
    join(keys.dir, `master-${index}`),
    '--key',
    keys.masterKeyFile,
    '--trust',
    keys.trustDir,
    '--port',
    '0',
    '--zk',
    `zk://${zk.servers()}/ha-test`,
    '--zk-session-timeout',
    '2s',
    '--zk-credentials',
    credentialsFile,
  ]);
  const listening = await process.waitForLog(
    (line) => line['message'] === 'master listening',
    `master ${index} to listen`,
  );
  return { process, url: String(listening['url']) };
}

async function get(url: string): Promise<Response | undefined> {
  return fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
}

/** The master that serves as leader and that every other live master names, if any. */
async function agreedLeader(live: readonly Master[]): Promise<Master | false> {
  for (const candidate of live) {
    const own = await get(`${candidate.url}/api/v1/state`);
    if (own?.status !== 200 || own.headers.get(LEADER_HEADER) !== candidate.url) continue;
    await own.body?.cancel();
    let named = true;
    for (const other of live.filter((each) => each !== candidate)) {
      const state = await get(`${other.url}/api/v1/state`);
      const body = state?.status === 200 ? ((await state.json()) as StandbyState) : undefined;
      named &&= body?.leading === false && body.leader?.address === candidate.url;
    }
    if (named) return candidate;
  }
  return false;
}

test.before(async () => {
  zk = await ZkEnsemble.start(1);
  keys = await makeClusterKeys(0);
});

test.after(async () => {
  await Promise.all(masters.map((master) => master.process.kill()));
  await zk.close();
  await rm(keys.dir, { recursive: true, force: true });
});

test('three masters: one leads, standbys redirect to it; kill -9 it and another leads', async () => {
  const credentialsFile = join(keys.dir, 'zk-credentials');
  await mkdir(keys.dir, { recursive: true });
  await writeFile(credentialsFile, 'masters:failover-test\n', { mode: 0o600 });
  for (let index = 0; index < 3; index++) masters.push(await startMaster(index, credentialsFile));

  const first = await until(() => agreedLeader(masters), 'a leader all agree on', DEADLINE_MS);
  const standby = masters.find((each) => each !== first)!;
  const redirected = await fetch(`${standby.url}/api/v1/scheduler`, {
    method: 'POST',
    body: 'x',
    redirect: 'manual',
  });
  assert.is(redirected.status, 307);
  assert.is(redirected.headers.get('location'), `${first.url}/api/v1/scheduler`);

  const killedAt = Date.now();
  await first.process.kill();
  const survivors = masters.filter((each) => each !== first);
  const second = await until(() => agreedLeader(survivors), 'a new leader', DEADLINE_MS);
  console.log(`failover after kill -9 (session timeout 2 s): ${Date.now() - killedAt} ms`);
  assert.is.not(second.url, first.url);
  const own = await get(`${second.url}/api/v1/state`);
  assert.is(own?.headers.get(LEADER_HEADER), second.url);
  const health = (await (await get(`${second.url}/health`))!.json()) as { healthy: boolean };
  assert.is(health.healthy, true);
});

test.run();
