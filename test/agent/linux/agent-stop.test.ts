/**
 * A whole agent running Linux tasks on the real cgroup hierarchy: a clean stop leaves none of
 * its cgroup directories behind, except those of containers that keep running across the stop
 * (a restarted agent re-attaches to them).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningAgent } from '../../../agent/agent.js';
import type { CgroupLayout } from '../../../agent/containerizer/linux/cgroups/mountinfo.js';
import { LinuxContainerizer } from '../../../agent/containerizer/linux/linux-containerizer.js';
import { generateIdentity, type Identity } from '../../../protocol/keys/identity.js';
import { eventually, FakeMaster } from '../support/fake-master.js';
import { AGENT_DEADLINE_MS, commandTask, untilState, updatesOf } from '../support/task-updates.js';
import { readyCapabilities, startLinuxAgent } from './harness.js';

const master = new FakeMaster();
let base = '';
/** Agents started here, so that a failed test leaves no container or cgroup behind. */
const started: { agentName: string; runDir: string }[] = [];

/** Every directory `wasmos/<agentName>` of this agent (one per v1 hierarchy; one on v2). */
function agentCgroupDirs(layout: CgroupLayout, keyId: string): string[] {
  const mounts = layout.version === 'v1' ? Object.values(layout.hierarchies) : [layout.mountPoint];
  return [...new Set(mounts)].map((mount) => join(mount, 'wasmos', `agent-${keyId}`));
}

async function start(workDir: string, identity: Identity): Promise<RunningAgent> {
  started.push({ agentName: `agent-${identity.keyId}`, runDir: join(workDir, 'linux') });
  return startLinuxAgent(master, workDir, identity);
}

test.before(async () => {
  await master.start();
  base = await mkdtemp(join(tmpdir(), 'wasmos-agent-stop-'));
});

test.after(async () => {
  const capabilities = await readyCapabilities();
  for (const { agentName, runDir } of started) {
    const sweeper = new LinuxContainerizer(capabilities, { agentName, runDir });
    await sweeper.recover([]);
    await sweeper.close();
  }
  await master.stop();
  await rm(base, { recursive: true, force: true });
});

test('a clean stop after a finished linux task leaves no cgroup directory of the agent', async () => {
  const { layout } = await readyCapabilities();
  const identity = generateIdentity();
  master.trustAgent(identity);
  const agent = await start(join(base, 'finished'), identity);
  try {
    assert.equal(agent.runtimes, ['linux']);
    master.send({
      type: 'LAUNCH',
      launch: { framework_id: { value: 'fw' }, task: commandTask('echo', 'echo hi') },
    });
    const finished = await untilState(master, 'echo', ['TASK_FINISHED', 'TASK_FAILED']);
    assert.is(finished.status.state, 'TASK_FINISHED');
    const dirs = agentCgroupDirs(layout, identity.keyId);
    assert.ok(
      dirs.some((dir) => existsSync(dir)),
      'the agent made its cgroup directory (what a stop must clean)',
    );
  } finally {
    await agent.stop();
  }
  for (const dir of agentCgroupDirs(layout, identity.keyId))
    assert.not.ok(existsSync(dir), `${dir} is removed at stop`);
});

test('a container running across a stop keeps its cgroups; the restarted agent reclaims and then removes them', async () => {
  const { layout } = await readyCapabilities();
  const identity = generateIdentity();
  master.trustAgent(identity);
  const workDir = join(base, 'survivor');
  const first = await start(workDir, identity);
  const dirs = agentCgroupDirs(layout, identity.keyId);
  try {
    master.send({
      type: 'LAUNCH',
      launch: { framework_id: { value: 'fw' }, task: commandTask('sleeper', 'sleep 300') },
    });
    await untilState(master, 'sleeper', ['TASK_RUNNING']);
  } finally {
    await first.stop();
  }
  assert.not.ok(
    updatesOf(master, 'sleeper').some((update) => update.status.state !== 'TASK_RUNNING'),
    'a stopping agent does not report its surviving container ended',
  );
  assert.ok(
    dirs.every((dir) => existsSync(dir)),
    'the cgroups of the running container are kept',
  );
  const second = await start(workDir, identity);
  try {
    await eventually(
      'the task re-attached',
      () => (second.snapshot().tasks.some((task) => task.taskId === 'sleeper') ? true : undefined),
      AGENT_DEADLINE_MS,
    );
    master.send({
      type: 'KILL',
      kill: { framework_id: { value: 'fw' }, task_id: { value: 'sleeper' }, grace_period_ms: 0 },
    });
    const killed = await untilState(master, 'sleeper', ['TASK_KILLED', 'TASK_FAILED', 'TASK_LOST']);
    assert.is(killed.status.state, 'TASK_KILLED');
  } finally {
    await second.stop();
  }
  for (const dir of dirs) assert.not.ok(existsSync(dir), `${dir} is removed at stop`);
});

test.run();
