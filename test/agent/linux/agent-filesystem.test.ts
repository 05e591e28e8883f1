/**
 * A whole agent running Linux tasks: the filesystem mode comes from the agent's option and from
 * a task's `command.filesystem`, which may make it stricter but never looser.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningAgent } from '../../../agent/agent.js';
import type { FilesystemMode } from '../../../agent/containerizer/linux/namespaces/filesystem.js';
import { LinuxContainerizer } from '../../../agent/containerizer/linux/linux-containerizer.js';
import { TaskInfo } from '../../../protocol/messages/task.js';
import { generateIdentity } from '../../../protocol/keys/identity.js';
import { FakeMaster } from '../support/fake-master.js';
import { commandTask, untilState } from '../support/task-updates.js';
import { readyCapabilities, startLinuxAgent } from './harness.js';

const master = new FakeMaster();
let base = '';
/** A host directory anyone may write: only a read-only mount keeps a task out of it. */
const openDir = `/var/lib/wasmos-test-open-${process.pid}`;
const started: { agent: RunningAgent; agentName: string; runDir: string }[] = [];

async function start(name: string, linuxFilesystem?: FilesystemMode): Promise<RunningAgent> {
  const identity = generateIdentity();
  master.trustAgent(identity);
  const workDir = join(base, name);
  const agent = await startLinuxAgent(
    master,
    workDir,
    identity,
    linuxFilesystem === undefined ? {} : { linuxFilesystem },
  );
  started.push({ agent, agentName: `agent-${identity.keyId}`, runDir: join(workDir, 'linux') });
  return agent;
}

function writeTask(taskId: string, filesystem?: FilesystemMode): TaskInfo {
  const task = commandTask(taskId, `echo x > ${openDir}/${taskId}`);
  return { ...task, command: { ...task.command, ...(filesystem ? { filesystem } : {}) } };
}

async function run(task: TaskInfo) {
  master.send({ type: 'LAUNCH', launch: { framework_id: { value: 'fw' }, task } });
  const id = task.task_id.value;
  return (await untilState(master, id, ['TASK_FINISHED', 'TASK_FAILED', 'TASK_ERROR'])).status;
}

test.before(async () => {
  await master.start();
  base = await mkdtemp(join(tmpdir(), 'wasmos-agent-filesystem-'));
  await mkdir(openDir, { recursive: true });
  await chmod(openDir, 0o777);
});

test.after(async () => {
  const capabilities = await readyCapabilities();
  for (const { agent, agentName, runDir } of started) {
    await agent.stop();
    const sweeper = new LinuxContainerizer(capabilities, { agentName, runDir });
    await sweeper.recover([]);
    await sweeper.close();
  }
  await master.stop();
  await rm(base, { recursive: true, force: true });
  await rm(openDir, { recursive: true, force: true });
});

test('a task asking for read-only cannot write a world-writable host directory', async () => {
  await start('writable-agent');
  const open = await run(writeTask('default-writes'));
  assert.is(open.state, 'TASK_FINISHED', open.message);
  assert.ok(existsSync(join(openDir, 'default-writes')));
  const closed = await run(writeTask('asks-read-only', 'read-only'));
  // It ran (no launch failure) and its write failed: the shell exits 2 on a failed redirection.
  assert.is(closed.state, 'TASK_FAILED', closed.message);
  assert.match(closed.message ?? '', /exited with code 2/);
  assert.not.ok(existsSync(join(openDir, 'asks-read-only')));
});

test('an agent with linuxFilesystem read-only: tasks cannot write the host, nor ask for writable', async () => {
  await start('read-only-agent', 'read-only');
  const closed = await run(writeTask('agent-read-only'));
  assert.is(closed.state, 'TASK_FAILED', closed.message);
  assert.match(closed.message ?? '', /exited with code 2/);
  assert.not.ok(existsSync(join(openDir, 'agent-read-only')));
  const refused = await run(writeTask('asks-writable', 'writable'));
  assert.is(refused.state, 'TASK_FAILED');
  assert.match(refused.message ?? '', /cannot ask for writable/);
  assert.not.ok(existsSync(join(openDir, 'asks-writable')));
});

test('the protocol refuses an unknown filesystem mode', () => {
  const task = commandTask('bad', 'true');
  const parsed = TaskInfo.safeParse({ ...task, command: { ...task.command, filesystem: 'ro' } });
  assert.not.ok(parsed.success);
  assert.match(JSON.stringify(parsed.error?.issues), /writable/);
});

test.run();
