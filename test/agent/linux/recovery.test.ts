import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointedContainer } from '../../../agent/containerizer/containerizer.js';
import { parseCheckpointState } from '../../../agent/containerizer/linux/run-records.js';
import { withLinuxHarness, type LinuxHarness } from './harness.js';

const AGENT_SCRIPT = new URL('./agent-process.js', import.meta.url).pathname;

/** Launches through a separate agent process and kills that process with SIGKILL. */
async function launchInDoomedAgent(
  harness: LinuxHarness,
  sandbox: string,
  containerId: string,
  command: string,
): Promise<Readonly<Record<string, unknown>>> {
  const agent = spawn(
    process.execPath,
    [AGENT_SCRIPT, harness.agentName, harness.runDir, sandbox, containerId, command],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  agent.stdout.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    agent.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('\n')) resolve(output.split('\n')[0]!);
    });
    agent.on('exit', (code) => reject(new Error(`the agent process exited early (${code})`)));
  });
  const exited = new Promise((resolve) => agent.on('exit', resolve));
  agent.kill('SIGKILL');
  await exited;
  return JSON.parse(line) as Readonly<Record<string, unknown>>;
}

function checkpoint(
  containerId: string,
  state: Readonly<Record<string, unknown>>,
): CheckpointedContainer {
  return { containerId, taskId: `task-${containerId}`, runtime: 'linux', state };
}

test('after the agent is killed with SIGKILL the container keeps running and a restarted agent gets its completion once', () =>
  withLinuxHarness(async (harness) => {
    const sandbox = await harness.sandbox();
    const state = await launchInDoomedAgent(
      harness,
      sandbox,
      'survivor',
      'sleep 1.5; echo finished',
    );
    const restarted = harness.make();
    const recovered = await restarted.recover([checkpoint('survivor', state)]);
    assert.equal(recovered.running, ['survivor'], 'the container outlived its agent');
    const termination = await restarted.wait('survivor');
    assert.is(termination.reason, 'exited');
    assert.is(termination.exitCode, 0);
    assert.is(await readFile(join(sandbox, 'stdout'), 'utf8'), 'finished\n');
    // A second restart reads the same recorded end: one completion, not a new one.
    const again = await harness.make().recover([checkpoint('survivor', state)]);
    assert.equal(again.running, []);
    assert.equal(again.terminated, [{ containerId: 'survivor', termination }]);
  }));

test('a container whose supervisor vanished is reported lost once and its processes are killed', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    const state = await c.launch(harness.spec('orphaned', sandbox, { value: 'sleep 300' }));
    const parsed = parseCheckpointState(state);
    assert.ok(parsed && parsed.cgroup.version === 'v1');
    const freezerDir = parsed.cgroup.version === 'v1' ? parsed.cgroup.dirs.freezer : undefined;
    assert.ok(freezerDir);
    process.kill(parsed.supervisor.pid, 'SIGKILL');
    const termination = await c.wait('orphaned');
    assert.is(termination.reason, 'lost');
    assert.match(termination.message, /supervisor/);
    assert.not.ok(existsSync(freezerDir), 'whatever was left in the cgroup is gone');
    const recovered = await harness.make().recover([checkpoint('orphaned', state)]);
    assert.equal(recovered.terminated, [{ containerId: 'orphaned', termination }]);
  }));

test('recover kills and removes containers the agent no longer knows', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    const state = parseCheckpointState(
      await c.launch(harness.spec('forgotten', sandbox, { value: 'sleep 300' })),
    );
    assert.ok(state && state.cgroup.version === 'v1');
    const memoryDir = state.cgroup.version === 'v1' ? state.cgroup.dirs.memory : undefined;
    const recovered = await harness.make().recover([]);
    assert.equal(recovered, { running: [], terminated: [] });
    assert.not.ok(existsSync(state.runDir), 'its run directory is removed');
    assert.ok(memoryDir);
    assert.not.ok(existsSync(memoryDir), 'its cgroup is removed');
  }));

test('an unreadable checkpoint state is reported lost, not thrown', () =>
  withLinuxHarness(async (harness) => {
    const recovered = await harness.make().recover([checkpoint('garbled', { runDir: 42 })]);
    assert.is(recovered.terminated[0]?.termination.reason, 'lost');
  }));

test.run();
