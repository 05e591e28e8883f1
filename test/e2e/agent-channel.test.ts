/**
 * The agent channel end to end with real processes on loopback: `wasmos master` and
 * `wasmos agent` (node dist/cli/main.js), and a framework speaking the signed scheduler API.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  terminalTaskStates,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from '../../protocol/index.js';
import { HttpFramework } from './support/framework.js';
import { makeClusterKeys, type ClusterKeys } from './support/keys.js';
import { loopLimits, wasmTaskOn } from './support/tasks.js';
import { until } from '../support/until.js';
import { uploadProgram } from '../support/programs.js';
import {
  startAgentProcess,
  startMasterProcess,
  unacknowledgedOnDisk,
  type CliProcess,
} from './support/processes.js';

const REGISTERED = 'registered with the master';

interface Cluster {
  readonly keys: ClusterKeys;
  master: { process: CliProcess; url: string; port: number };
  agent: CliProcess;
  readonly agentDir: string;
  readonly masterDir: string;
  readonly framework: HttpFramework;
  /** Digests of the uploaded programs, by name. */
  readonly programs: Record<string, string>;
}

async function withCluster(body: (cluster: Cluster) => Promise<void>): Promise<void> {
  const keys = await makeClusterKeys(1);
  const masterDir = join(keys.dir, 'master');
  const agentDir = join(keys.dir, 'agent');
  const master = await startMasterProcess(keys, masterDir);
  let cluster: Cluster | undefined;
  try {
    const programs = {
      hello: await uploadProgram(master.url, 'hello'),
      loop: await uploadProgram(master.url, 'infinite-loop'),
    };
    const agent = startAgentProcess(keys, 0, master.url, agentDir);
    await agent.waitForLog((line) => line['message'] === REGISTERED, 'the agent to register');
    const framework = new HttpFramework(master.url, keys.framework, keys.masterTrust);
    await framework.subscribe();
    cluster = { keys, master, agent, agentDir, masterDir, framework, programs };
    await body(cluster);
  } catch (error) {
    if (cluster) {
      console.error(`master log:\n${cluster.master.process.output()}`);
      console.error(`agent log:\n${cluster.agent.output()}`);
    }
    throw error;
  } finally {
    cluster?.framework.close();
    await cluster?.agent.stop();
    await (cluster?.master.process ?? master.process).stop();
    await rm(keys.dir, { recursive: true, force: true });
  }
}

/** Half a cpu and 64 MiB each: a few tasks fit the agent's 2 cpus at once. */
const wasmTask = (
  taskId: string,
  offer: Offer,
  digest: string,
  wasm: Partial<NonNullable<TaskInfo['wasm']>> = {},
): TaskInfo => wasmTaskOn(offer, taskId, { cpus: 0.5, memMiB: 64 }, { digest, ...wasm });

const isTerminal = (status: TaskStatus) => terminalTaskStates.has(status.state);

function terminalUuids(framework: HttpFramework, taskId: string): Set<string> {
  return new Set(
    framework
      .updatesOf(taskId)
      .filter(isTerminal)
      .map((status) => status.uuid ?? `master:${status.state}`),
  );
}

test('a real agent registers; a wasm task runs to TASK_FINISHED with its figures; the acknowledgement stops the retries', () =>
  withCluster(async ({ framework, programs, agentDir }) => {
    await framework.launch((offer) => wasmTask('hello-1', offer, programs['hello']!));
    const finished = await until(
      () => framework.updatesOf('hello-1').find((status) => status.state === 'TASK_FINISHED'),
      'TASK_FINISHED',
    );
    const states = framework.updatesOf('hello-1').map((status) => status.state);
    assert.ok(states.indexOf('TASK_RUNNING') >= 0, `TASK_RUNNING before: ${states.join(',')}`);
    assert.ok(states.indexOf('TASK_RUNNING') < states.indexOf('TASK_FINISHED'));
    assert.is(finished.exit_code, 0);
    assert.ok((finished.fuel_consumed ?? 0) > 0, 'fuel consumed');
    assert.ok((finished.peak_memory_bytes ?? 0) > 0, 'peak memory');
    assert.type(finished.duration_ms, 'number');
    assert.is(finished.source, 'SOURCE_AGENT');
    assert.ok(finished.uuid, 'an agent update carries a uuid');
    await until(
      async () => (await unacknowledgedOnDisk(agentDir)) === 0,
      'the agent to record every acknowledgement',
    );
  }));

test('kill -9 of the agent mid-task: after its restart the task ends exactly once, not TASK_GONE', () =>
  withCluster(async (cluster) => {
    const { framework, programs, agentDir, keys } = cluster;
    await framework.launch((offer) =>
      wasmTask('loop-1', offer, programs['loop']!, loopLimits(120_000)),
    );
    await until(
      () => framework.updatesOf('loop-1').some((status) => status.state === 'TASK_RUNNING'),
      'TASK_RUNNING',
    );
    await cluster.agent.kill();
    cluster.agent = startAgentProcess(keys, 0, cluster.master.url, agentDir);
    await cluster.agent.waitForLog(
      (line) => line['message'] === REGISTERED,
      'the agent to re-register',
    );
    const terminal = await until(
      () => framework.updatesOf('loop-1').find(isTerminal),
      'the task to end',
    );
    await until(
      async () => (await unacknowledgedOnDisk(agentDir)) === 0,
      'the agent to record every acknowledgement',
    );
    const states = framework
      .updatesOf('loop-1')
      .map((status) => `${status.state}/${status.reason ?? ''}`);
    assert.is(terminal.source, 'SOURCE_AGENT', states.join(','));
    assert.is(terminal.state, 'TASK_LOST', states.join(','));
    assert.is(terminal.reason, 'REASON_AGENT_RESTARTED', states.join(','));
    assert.is(
      terminalUuids(framework, 'loop-1').size,
      1,
      `one terminal update: ${states.join(',')}`,
    );
  }));

test('a master restart while a task runs: the agent re-registers and the task’s end reaches the framework', () =>
  withCluster(async (cluster) => {
    const { framework, programs, keys, masterDir } = cluster;
    await framework.launch((offer) =>
      wasmTask('loop-2', offer, programs['loop']!, loopLimits(8_000)),
    );
    await until(
      () => framework.updatesOf('loop-2').some((status) => status.state === 'TASK_RUNNING'),
      'TASK_RUNNING',
    );
    const registrations = () =>
      cluster.agent.lines.filter((line) => line['message'] === REGISTERED).length;
    const before = registrations();
    await cluster.master.process.kill();
    cluster.master = await startMasterProcess(keys, masterDir, cluster.master.port);
    await framework.subscribe();
    await until(() => registrations() > before, 'the agent to re-register');
    const terminal = await until(
      () => framework.updatesOf('loop-2').find(isTerminal),
      'the task’s terminal update',
    );
    const states = framework
      .updatesOf('loop-2')
      .map((status) => `${status.state}/${status.reason ?? ''}`);
    assert.is(terminal.source, 'SOURCE_AGENT', states.join(','));
    assert.is(terminal.reason, 'REASON_TIMEOUT', states.join(','));
    assert.type(terminal.duration_ms, 'number');
    await until(
      async () => (await unacknowledgedOnDisk(cluster.agentDir)) === 0,
      'the agent to record every acknowledgement',
    );
    assert.is(terminalUuids(framework, 'loop-2').size, 1, states.join(','));
  }));

test('a task that ends while the master is down: its terminal update reaches the framework after the restart', () =>
  withCluster(async (cluster) => {
    const { framework, programs, keys, masterDir } = cluster;
    await framework.launch((offer) =>
      wasmTask('loop-3', offer, programs['loop']!, loopLimits(2_000)),
    );
    await until(
      () => framework.updatesOf('loop-3').some((status) => status.state === 'TASK_RUNNING'),
      'TASK_RUNNING',
    );
    await cluster.master.process.kill();
    await cluster.agent.waitForLog(
      (line) => line['message'] === 'task ended' && line['task'] === 'loop-3',
      'the task to end while the master is down',
    );
    // The master restarts knowing no tasks; only the agent's unacknowledged update tells of it.
    cluster.master = await startMasterProcess(keys, masterDir, cluster.master.port);
    await framework.subscribe();
    const terminal = await until(
      () => framework.updatesOf('loop-3').find(isTerminal),
      'the terminal update',
    );
    const states = framework
      .updatesOf('loop-3')
      .map((status) => `${status.state}/${status.reason ?? ''}`);
    assert.is(terminal.source, 'SOURCE_AGENT', states.join(','));
    assert.is(terminal.reason, 'REASON_TIMEOUT', states.join(','));
    await until(
      async () => (await unacknowledgedOnDisk(cluster.agentDir)) === 0,
      'the agent to record every acknowledgement',
    );
  }));

test.run();
