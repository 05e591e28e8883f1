import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatPublicKeyFile } from '../../protocol/keys/files.js';
import { generateIdentity } from '../../protocol/keys/identity.js';
import type { TaskInfo } from '../../protocol/messages/task.js';
import { eventually, FakeMaster } from './support/fake-master.js';
import { programBytes as program } from '../support/programs.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const master = new FakeMaster();
const identity = generateIdentity();
const base = mkdtempSync(join(tmpdir(), 'wasmos-restart-'));
const workDir = join(base, 'work');

/** Whether a journal (`<workDir>/<part>/journal`) holds a line with all of `parts`. */
function journalHas(file: string, ...parts: string[]): boolean {
  const lines = readFileSync(file, 'utf8').split('\n');
  return lines.some((line) => parts.every((part) => line.includes(part)));
}

/** The container ids the task checkpoint journal still names, replayed as the agent would. */
function liveTaskCheckpoints(): string[] {
  const live = new Set<string>();
  for (const line of readFileSync(join(workDir, 'tasks', 'journal'), 'utf8').split('\n')) {
    let record: { kind: string; container_id?: string; record?: { container_id: string } };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue; // an empty line, or a record being written as we read
    }
    if (record.kind === 'task' && record.record) live.add(record.record.container_id);
    else if (record.kind === 'removed' && record.container_id) live.delete(record.container_id);
  }
  return [...live];
}
const trustDir = join(base, 'trust');
let child: ChildProcess | undefined;

function startAgentProcess(): ChildProcess {
  const agent = spawn(
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      'agent',
      '--master',
      master.url,
      '--work-dir',
      workDir,
      '--trust',
      trustDir,
      '--resources',
      'cpus:2;mem:1024',
      '--runtimes',
      'wasm',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WASMOS_LOG: 'warn' } },
  );
  agent.stderr?.on('data', () => undefined);
  return agent;
}

async function killHard(agent: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => agent.once('exit', resolve));
  agent.kill('SIGKILL');
  await exited;
}

function task(taskId: string, digest: string): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'agent-1' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
    ],
    wasm: { digest },
  };
}

const updatesOf = (taskId: string) =>
  master.statusUpdates().filter((update) => update.status.task_id.value === taskId);
const reregisters = () => master.calls.filter((each) => each.call.type === 'REREGISTER');

test.before(async () => {
  // The fake master sends no heartbeats: with a short interval a loaded machine would see the
  // agent reconnect on silence (an extra REREGISTER) in the middle of the test.
  master.heartbeatIntervalSeconds = 600;
  await master.start();
  master.trustAgent(identity);
  mkdirSync(workDir, { recursive: true });
  mkdirSync(trustDir, { recursive: true });
  writeFileSync(
    join(workDir, 'agent.key'),
    identity.privateKey.export({ format: 'pem', type: 'pkcs8' }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(trustDir, 'master.pub'),
    formatPublicKeyFile(master.identity.publicKey, 'master', 'master'),
  );
});

test('after kill -9: unacknowledged updates are resent and a lost wasm task is reported terminal exactly once', async () => {
  const hello = master.addBlob(program('hello'));
  const loop = master.addBlob(program('infinite-loop'));
  child = startAgentProcess();
  await eventually('REGISTER', () => master.calls.find((each) => each.call.type === 'REGISTER'));
  await eventually('subscribed', () => (master.subscribed ? true : undefined));

  master.send({
    type: 'LAUNCH',
    launch: { framework_id: { value: 'fw' }, task: task('done', hello) },
  });
  master.acknowledge(await eventually('done RUNNING', () => updatesOf('done')[0]));
  const finished = await eventually('done FINISHED', () =>
    updatesOf('done').find((u) => u.status.state === 'TASK_FINISHED'),
  );
  // FINISHED is left unacknowledged on purpose.
  master.send({
    type: 'LAUNCH',
    launch: { framework_id: { value: 'fw' }, task: task('spin', loop) },
  });
  master.acknowledge(await eventually('spin RUNNING', () => updatesOf('spin')[0]));
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the ack reach the agent's disk

  await killHard(child);
  master.dropStream();
  const reregistersBefore = reregisters().length;
  child = startAgentProcess();
  const reregister = await eventually('REREGISTER', () => reregisters()[reregistersBefore]);
  assert.ok(reregister.call.type === 'REREGISTER');
  assert.is(reregister.call.reregister.agent_id.value, 'agent-1');
  const pending = reregister.call.reregister.unacknowledged_updates ?? [];
  assert.ok(
    pending.some((update) => update.status.uuid === finished.status.uuid),
    'the unacked FINISHED is listed',
  );

  const resent = await eventually(
    'FINISHED resent',
    () => updatesOf('done').filter((u) => u.status.uuid === finished.status.uuid)[1],
  );
  master.acknowledge(resent);
  // If the RUNNING ack had not reached the agent's disk before the kill, RUNNING comes again first.
  const lost = await eventually('spin LOST', () => {
    for (const update of updatesOf('spin').filter((u) => u.status.state === 'TASK_RUNNING'))
      master.acknowledge(update);
    return updatesOf('spin').find((u) => u.status.state !== 'TASK_RUNNING');
  });
  assert.is(lost.status.state, 'TASK_LOST');
  assert.is(lost.status.reason, 'REASON_AGENT_RESTARTED');
  master.acknowledge(lost);
  // Before the next crash: the acknowledgement and the task's removal are written (no sleep: a
  // loaded machine may take longer than any fixed wait).
  await eventually('LOST acknowledged and its checkpoint removed on disk', () =>
    journalHas(join(workDir, 'updates', 'journal'), `"kind":"ack"`, lost.status.uuid) &&
    liveTaskCheckpoints().length === 0
      ? true
      : undefined,
  );

  // One more crash and restart: no new update about these tasks (a resend of one whose ack was
  // lost in the crash would carry the same uuid).
  await killHard(child);
  master.dropStream();
  const uuidsBefore = new Set(master.statusUpdates().map((u) => u.status.uuid));
  const againBefore = reregisters().length;
  child = startAgentProcess();
  const again = await eventually('second REREGISTER', () => reregisters()[againBefore]);
  assert.ok(again.call.type === 'REREGISTER');
  assert.equal(again.call.reregister.tasks, []);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const fresh = master.statusUpdates().filter((u) => !uuidsBefore.has(u.status.uuid));
  assert.equal(fresh, []);
  const terminal = updatesOf('spin').filter((u) => u.status.state === 'TASK_LOST');
  assert.is(
    new Set(terminal.map((u) => u.status.uuid)).size,
    1,
    'one terminal update (uuid) for the lost task',
  );
});

test.after(async () => {
  if (child && child.exitCode === null) await killHard(child);
  await master.stop();
  rmSync(base, { recursive: true, force: true });
});

test.run();
