import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DevCluster, wasmos } from './cli-harness.js';
import { until } from '../support/until.js';
import { programPath } from '../support/programs.js';

const hello = programPath('hello');

interface Job {
  readonly id: string;
  readonly state: string;
  readonly exitCode?: number;
}

async function job(url: string, id: string): Promise<Job> {
  const response = await fetch(`${url}/api/v1/jobs/${id}`);
  assert.is(response.status, 200);
  return (await response.json()) as Job;
}

test('wasmos dev keeps its keys and jobs across a restart', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'wasmos-dev-restart-'));
  let cluster: DevCluster | undefined;
  try {
    cluster = await DevCluster.start(stateDir);
    const masterKey = await readFile(join(stateDir, 'keys', 'master.key'), 'utf8');
    const env = { WASMOS_MASTER: cluster.url };
    const done = await wasmos(['run', '-q', hello], env);
    assert.is(done.code, 0, done.stderr);
    const waiting = await wasmos(['run', '--detach', '--attr', 'zone:elsewhere', hello], env);
    const waitingId = waiting.stdout.trim();
    assert.is((await job(cluster.url, waitingId)).state, 'queued');
    assert.is(await cluster.stop(), 0);
    cluster = undefined;

    cluster = await DevCluster.start(stateDir);
    assert.is(await readFile(join(stateDir, 'keys', 'master.key'), 'utf8'), masterKey);
    // The queued job came back from the registry, still waiting, with its reason.
    const back = await until(async () => {
      const response = await fetch(`${cluster!.url}/api/v1/jobs/${waitingId}`);
      return response.status === 200 && ((await response.json()) as Job);
    }, 'the queued job after the restart');
    assert.is(back.state, 'queued');
    // The cluster runs new work as before.
    const again = await wasmos(['run', hello], { WASMOS_MASTER: cluster.url });
    assert.is(again.code, 0, again.stderr);
    assert.is(again.stdout, 'hello from wasm\n');
    const jobs = (await (await fetch(`${cluster.url}/api/v1/jobs`)).json()) as { jobs: Job[] };
    assert.ok(jobs.jobs.length >= 3, 'jobs from before the restart are listed');
  } finally {
    if (cluster) await cluster.stop();
    await rm(stateDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
});

test.run();
