/**
 * `wasmos dev --ha` as a user runs it: a local ZooKeeper, three masters and an agent that
 * follows the leader; the printed zk:// URL and master list work with the CLI (a job runs to
 * completion through ZooKeeper), and Ctrl-C (SIGTERM) stops everything, ZooKeeper included.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fourLetterWord } from '../support/zookeeper.js';
import { until } from '../support/until.js';
import { repoRoot } from './support/processes.js';
import { programPath } from '../support/programs.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const DEADLINE_MS = 120_000;

test('wasmos dev --ha: three masters, an agent following the leader, a job through zk://, clean stop', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'wasmos-dev-ha-'));
  const child = spawn(
    process.execPath,
    [cli, 'dev', '--ha', '--port', '0', '--state-dir', stateDir, '--resources', 'cpus:1;mem:512'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`wasmos dev --ha exited: ${stderr}`);
        return stdout.includes('Ctrl-C stops the cluster.');
      },
      'the cluster banner',
      DEADLINE_MS,
    );
    const zkUrl = /through (zk:\/\/\S+)/.exec(stdout)?.[1];
    const zkServer = /ZooKeeper at 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
    const masters = [...stdout.matchAll(/master \d at (http:\/\/\S+)/g)].map((match) => match[1]!);
    assert.ok(zkUrl && zkServer, stdout);
    assert.is(masters.length, 3, stdout);

    const agents = await run(process.execPath, [cli, 'agents', '--master', zkUrl], {
      timeout: 60_000,
    });
    assert.match(agents.stdout, /dev-agent\s+active/);
    const hello = programPath('hello');
    const job = await run(process.execPath, [cli, 'run', hello, '--master', zkUrl], {
      timeout: 90_000,
    });
    assert.match(job.stdout, /hello/i, job.stdout + job.stderr);
    const tasks = await run(process.execPath, [cli, 'tasks', '--master', masters.join(',')], {
      timeout: 60_000,
    });
    assert.match(tasks.stdout, /TASK_FINISHED|FINISHED/, tasks.stdout);

    child.kill('SIGTERM');
    assert.is(await exited, 0, stderr);
    const answer = await fourLetterWord(Number(zkServer), 'ruok').catch(() => 'gone');
    assert.is.not(answer, 'imok', 'the local ZooKeeper stopped with the cluster');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  }
});

test.run();
