/**
 * Components survive a failover, with real `wasmos master --zk` processes on a real ZooKeeper:
 * an upload the leader acknowledged is on another master too, so after a kill -9 of the leader
 * right after the answer the new leader serves it; a master started later mirrors it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ZkEnsemble } from '../../../support/zookeeper.js';
import { makeClusterKeys, type ClusterKeys } from '../../../e2e/support/keys.js';
import { until } from '../../../support/until.js';
import { Signer } from '../../../../protocol/index.js';
import { HaMasterProcess, type HaMasterArgs } from './master-process.js';

/** Generous: a session timeout of 2 s plus JVM and Node start-ups on a loaded machine. */
const DEADLINE_MS = 90_000;
let zk: ZkEnsemble;
let keys: ClusterKeys;
const masters: HaMasterProcess[] = [];

test.before(async () => {
  zk = await ZkEnsemble.start(1);
  keys = await makeClusterKeys(0);
});

test.after(async () => {
  await Promise.all(masters.map((master) => master.kill()));
  await zk.close();
  await rm(keys.dir, { recursive: true, force: true });
});

async function get(url: string, init?: RequestInit): Promise<Response | undefined> {
  return fetch(url, { signal: AbortSignal.timeout(10_000), ...init }).catch(() => undefined);
}

/** A standby's id in the election and the leader's, as the standby's `/health` names them. */
async function standbyAndLeaderIds(
  standby: HaMasterProcess,
): Promise<{ id: string; leader: string } | undefined> {
  const response = await get(`${standby.url}/health`);
  const body = (await response?.json().catch(() => undefined)) as
    { id?: string; leader?: { id?: string } | null } | undefined;
  const id = body?.id;
  const leader = body?.leader?.id;
  return id && leader ? { id, leader } : undefined;
}

/** The one live master that serves as leader (its own answers name itself), if any. */
async function servingLeader(live: readonly HaMasterProcess[]): Promise<HaMasterProcess | false> {
  for (const master of live) {
    const response = await get(`${master.url}/health`);
    if (response?.status !== 200) continue;
    const body = (await response.json()) as { leading?: boolean };
    if (body.leading !== false && response.headers.get('wasmos-leader') === master.url)
      return master;
  }
  return false;
}

test('an acknowledged upload survives a kill -9 of the leader; a later master mirrors it', async () => {
  const credentialsFile = join(keys.dir, 'zk-credentials');
  await writeFile(credentialsFile, 'masters:blob-test\n', { mode: 0o600 });
  const args: HaMasterArgs = {
    workDir: join(keys.dir, 'masters'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    zkUrl: `zk://${zk.servers()}/blobs`,
    credentialsFile,
    sessionTimeout: '2s',
  };
  let live = await Promise.all(['m0', 'm1', 'm2'].map((name) => HaMasterProcess.start(name, args)));
  masters.push(...live);
  const leader = await until(() => servingLeader(live), 'a serving leader', DEADLINE_MS);
  const component = randomBytes(200_000);
  const hex = createHash('sha256').update(component).digest('hex');
  // Until every master has seen the others in the election a lone leader would acknowledge
  // with its own copy only: upload until the answer says a standby holds one.
  const uploaded = await until(
    async () => {
      const response = await get(`${leader.url}/api/v1/blobs/${hex}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/wasm' },
        body: component,
      });
      if (response?.status !== 200 && response?.status !== 201) return undefined;
      const body = (await response.json()) as { replicas?: number };
      return (body.replicas ?? 0) >= 1 && body;
    },
    'an upload acknowledged with a copy on a standby',
    DEADLINE_MS,
  );
  assert.is(uploaded.replicas, 1);
  await leader.kill();
  live = live.filter((each) => each !== leader);
  const next = await until(() => servingLeader(live), 'a leader after the kill', DEADLINE_MS);
  const download = await get(`${next.url}/api/v1/blobs/${hex}`);
  assert.is(download?.status, 200);
  assert.ok(Buffer.from(await download!.arrayBuffer()).equals(component), 'the same bytes');
  // HEAD says "have it" (a client skips its upload) only once another master holds a copy too.
  const head = await get(`${next.url}/api/v1/blobs/${hex}`, { method: 'HEAD' });
  assert.is(head?.status, 200);

  // A master that was not running during the upload takes a copy from its peers.
  const late = await HaMasterProcess.start('m3', args);
  masters.push(late);
  await until(
    async () => (await get(`${late.url}/api/v1/replica/blobs/${hex}`, { method: 'HEAD' }))?.ok,
    'the late master to mirror the component',
    DEADLINE_MS,
  );
  // Its listing is for the masters of the election only: unsigned, it is refused; signed with
  // the masters' key in the name of another master, it names the component.
  assert.is((await get(`${late.url}/api/v1/replica/blobs`))?.status, 405);
  const ids = await until(
    () => standbyAndLeaderIds(late),
    'the late master to name itself and the leader',
    DEADLINE_MS,
  );
  const call = new Signer(keys.master).seal('master.list_blobs', { from: ids.leader, to: ids.id });
  const listed = await get(`${late.url}/api/v1/replica/blobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body: call,
  });
  assert.is(listed?.status, 200);
  const listing = (await listed!.json()) as { blobs: { digest: string; bytes: number }[] };
  assert.equal(listing.blobs, [{ digest: `sha256:${hex}`, bytes: component.length }]);
});

test.run();
