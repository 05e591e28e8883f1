/**
 * ZooKeeper failures under a running cluster (real processes on loopback): three ZooKeeper
 * servers, three masters, an agent following the leader through zk://, a framework with a
 * long-running task. One ZooKeeper server killed: a leader still serves and launches. A
 * majority stopped: no master acts as leader, the task keeps running. ZooKeeper restored: a
 * leader serves again, the agent re-registers with it, and reconciliation finds the task
 * still running.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Offer, TaskInfo, TaskStatus } from '../../protocol/index.js';
import { ZkEnsemble } from '../support/zookeeper.js';
import { HaMasterProcess } from '../master/server/ha/master-process.js';
import { ReconcilingFramework } from '../master/server/ha/reconciling-framework.js';
import { makeClusterKeys, type ClusterKeys } from './support/keys.js';
import { until } from '../support/until.js';
import { repoRoot, startAgentProcess, type CliProcess } from './support/processes.js';

const DEADLINE_MS = 120_000;
const REGISTERED = 'registered with the master';
let zk: ZkEnsemble;
let keys: ClusterKeys;
const masters: HaMasterProcess[] = [];
let agent: CliProcess | undefined;

test.before(async () => {
  zk = await ZkEnsemble.start(3);
  keys = await makeClusterKeys(1);
});

test.after(async () => {
  await agent?.stop();
  await Promise.all(masters.map((master) => master.kill()));
  await zk.close();
  await rm(keys.dir, { recursive: true, force: true });
});

/** The master whose answers name itself as leader, if any. */
async function servingLeader(): Promise<HaMasterProcess | undefined> {
  for (const master of masters) {
    const response = await fetch(`${master.url}/health`, {
      signal: AbortSignal.timeout(5000),
    }).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === 200 && response.headers.get('wasmos-leader') === master.url)
      return master;
  }
  return undefined;
}

async function upload(masterUrl: string, name: string): Promise<string> {
  const bytes = await readFile(join(repoRoot, 'components/built/programs', `${name}.wasm`));
  const hex = createHash('sha256').update(bytes).digest('hex');
  const response = await fetch(`${masterUrl}/api/v1/blobs/${hex}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/wasm' },
    body: bytes,
  });
  assert.ok(response.status === 201 || response.status === 200, await response.text());
  return `sha256:${hex}`;
}

function task(taskId: string, offer: Offer, digest: string, timeoutMs: number): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.25 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
    ],
    // A busy loop that only its wall-clock timeout ends.
    wasm: { digest, fuel: Number.MAX_SAFE_INTEGER, timeout_ms: timeoutMs },
  };
}

const latest = (framework: ReconcilingFramework, taskId: string): TaskStatus | undefined =>
  framework.updatesOf(taskId).at(-1);

test('one ZooKeeper server down: carries on; majority down: nobody leads, tasks run; restored: reconciles', async () => {
  const root = 'wasmos-quorum';
  const zkUrl = `zk://${zk.servers()}/${root}`;
  const credentialsFile = join(keys.dir, 'zk-credentials');
  await writeFile(credentialsFile, 'masters:quorum-e2e\n', { mode: 0o600 });
  masters.push(
    ...(await Promise.all(
      ['m0', 'm1', 'm2'].map((name) =>
        HaMasterProcess.start(name, {
          workDir: join(keys.dir, 'masters'),
          keyFile: keys.masterKeyFile,
          trustDir: keys.trustDir,
          zkUrl,
          credentialsFile,
          sessionTimeout: '2s',
        }),
      ),
    )),
  );
  const first = await until(servingLeader, 'a serving leader', DEADLINE_MS);
  agent = startAgentProcess(keys, 0, zkUrl, join(keys.dir, 'agent'));
  const framework = new ReconcilingFramework(first.url, keys.framework, keys.masterTrust);
  // Subscribed wherever a leader serves, again after each time it stops serving.
  const stopFollowing = framework.follow(async () => (await until(servingLeader, 'a leader')).url);
  try {
    const loop = await upload(first.url, 'infinite-loop');
    await framework.launch((offer) => task('long', offer, loop, 600_000));
    await until(() => latest(framework, 'long')?.state === 'TASK_RUNNING', 'the task to run');

    // One ZooKeeper server of three killed: the quorum holds, a leader serves and launches.
    await zk.kill(1);
    const leader = await until(servingLeader, 'a leader with one server down', DEADLINE_MS);
    const short = await upload(leader.url, 'infinite-loop');
    await framework.launch((offer) => task('short', offer, short, 1000));
    await until(
      () => framework.updatesOf('short').some((status) => status.state === 'TASK_FAILED'),
      'the second task to end at its timeout',
      DEADLINE_MS,
    );

    // A majority stopped: every lease runs out, no master acts as leader.
    const registrations = () => agent!.lines.filter((line) => line['message'] === REGISTERED);
    const registeredBefore = registrations().length;
    await zk.stop(2);
    await until(
      async () => (await servingLeader()) === undefined,
      'no master serving as leader',
      DEADLINE_MS,
    );
    assert.ok(agent.running, 'the agent keeps running');

    // Restored: a leader serves again; the agent re-registers with it; the task still runs.
    await zk.restart(1);
    await zk.restart(2);
    const restored = await until(servingLeader, 'a leader after the restore', DEADLINE_MS);
    await until(
      () => registrations().slice(registeredBefore).at(-1)?.['master'] === restored.url,
      'the agent to register again, with the restored leader',
      DEADLINE_MS,
    );
    const seen = framework.updates.length;
    await until(
      async () => {
        await framework.reconcile([{ taskId: 'long' }]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return framework.updates
          .slice(seen)
          .some((status) => status.task_id.value === 'long' && status.state === 'TASK_RUNNING');
      },
      'reconciliation to find the task running',
      DEADLINE_MS,
    );
    assert.not.ok(
      framework.updatesOf('long').some((status) => status.state !== 'TASK_RUNNING'),
      framework
        .updatesOf('long')
        .map((status) => status.state)
        .join(', '),
    );
  } catch (error) {
    console.error(`agent log:\n${agent.output()}`);
    for (const master of masters)
      console.error(`${master.url}:\n${master.messages.slice(-20).join('\n')}`);
    throw error;
  } finally {
    void stopFollowing();
    framework.close();
  }
});

test.run();
