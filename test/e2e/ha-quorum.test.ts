/**
 * ZooKeeper failures under a running cluster (real processes on loopback): three ZooKeeper
 * servers, three masters, an agent following the leader through zk://, a framework with a
 * long-running task. One ZooKeeper server killed: a leader still serves and launches. A
 * majority stopped: no master acts as leader, the task keeps running. ZooKeeper restored: a
 * leader serves again, the agent re-registers with it, and reconciliation finds the task
 * still running.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Offer, TaskInfo, TaskStatus } from '../../protocol/index.js';
import { ZkEnsemble } from '../support/zookeeper.js';
import { HaMasterProcess } from '../master/server/ha/master-process.js';
import { ReconcilingFramework } from '../master/server/ha/reconciling-framework.js';
import { startHaMasters } from './support/ha-masters.js';
import { makeClusterKeys, type ClusterKeys } from './support/keys.js';
import { loopLimits, wasmTaskOn } from './support/tasks.js';
import { until } from '../support/until.js';
import { uploadProgram } from '../support/programs.js';
import { startAgentProcess, type CliProcess } from './support/processes.js';

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

/** A busy loop on a quarter cpu that only its wall-clock timeout ends. */
const task = (taskId: string, offer: Offer, digest: string, timeoutMs: number): TaskInfo =>
  wasmTaskOn(offer, taskId, { cpus: 0.25, memMiB: 32 }, { digest, ...loopLimits(timeoutMs) });

const latest = (framework: ReconcilingFramework, taskId: string): TaskStatus | undefined =>
  framework.updatesOf(taskId).at(-1);

test('one ZooKeeper server down: carries on; majority down: nobody leads, tasks run; restored: reconciles', async () => {
  const started = await startHaMasters(keys, zk, {
    names: ['m0', 'm1', 'm2'],
    root: 'wasmos-quorum',
    sessionTimeout: '2s',
  });
  const zkUrl = started.zkUrl;
  masters.push(...started.masters);
  const first = await until(servingLeader, 'a serving leader', DEADLINE_MS);
  agent = startAgentProcess(keys, 0, zkUrl, join(keys.dir, 'agent'));
  const framework = new ReconcilingFramework(first.url, keys.framework, keys.masterTrust);
  // Subscribed wherever a leader serves, again after each time it stops serving.
  const stopFollowing = framework.follow(async () => (await until(servingLeader, 'a leader')).url);
  try {
    const loop = await uploadProgram(first.url, 'infinite-loop');
    await framework.launch((offer) => task('long', offer, loop, 600_000));
    await until(() => latest(framework, 'long')?.state === 'TASK_RUNNING', 'the task to run');

    // One ZooKeeper server of three killed: the quorum holds, a leader serves and launches.
    await zk.kill(1);
    const leader = await until(servingLeader, 'a leader with one server down', DEADLINE_MS);
    const short = await uploadProgram(leader.url, 'infinite-loop');
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
