import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningMaster } from '../../../master/server/master-process.js';
import {
  basic,
  contextOf,
  CREDENTIALS,
  DriverAgent,
  makeKeys,
  removeKeys,
  startTestMaster,
  type Keys,
} from './scheduler-harness.js';
import { until } from '../../support/until.js';

const DIGEST = `sha256:${'ef'.repeat(32)}`;

async function withMaster(
  options: { json: boolean },
  body: (master: RunningMaster, keys: Keys) => Promise<void>,
): Promise<void> {
  const keys = await makeKeys();
  const master = await startTestMaster(keys, { json: options.json });
  try {
    await body(master, keys);
  } finally {
    await master.stop();
    await removeKeys(keys);
  }
}

async function postJob(
  master: RunningMaster,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${master.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function getJson(master: RunningMaster, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${master.url}${path}`);
  assert.is(response.status, 200, `GET ${path}`);
  return (await response.json()) as Record<string, unknown>;
}

test('jobs: submitted, shown, listed, killed; refusals say why and change nothing', () =>
  withMaster({ json: false }, async (master) => {
    const created = await postJob(master, { wasm: { digest: DIGEST }, name: 'hello' });
    assert.is(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    assert.match(id, /^job-/);
    assert.is(created.headers.get('location'), `/api/v1/jobs/${id}`);
    const shown = await getJson(master, `/api/v1/jobs/${id}`);
    assert.is(shown['state'], 'queued');
    assert.equal(shown['waiting'], {
      code: 'no_agents',
      message: 'no agent is connected to the master',
    });
    const listed = (await getJson(master, '/api/v1/jobs')) as { jobs: Array<{ id: string }> };
    assert.equal(
      listed.jobs.map((job) => job.id),
      [id],
    );

    const refusals: Array<[string | object, Record<string, string>, number, string]> = [
      [{ wasm: { digest: 'nope' } }, {}, 400, 'INVALID_JOB'],
      ['{not json', {}, 400, 'MALFORMED'],
      ['', {}, 400, 'EMPTY_BODY'],
      [
        { wasm: { digest: DIGEST } },
        { 'content-type': 'text/plain' },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [{ wasm: { digest: DIGEST, args: ['x'.repeat(70 * 1024)] } }, {}, 413, 'TOO_LARGE'],
    ];
    for (const [body, headers, status, code] of refusals) {
      const refused = await postJob(master, body, headers);
      assert.is(refused.status, status, code);
      const answer = (await refused.json()) as { error: { code: string; message: string } };
      assert.is(answer.error.code, code);
      assert.ok(answer.error.message.length > 0);
    }
    const after = (await getJson(master, '/api/v1/jobs')) as { jobs: unknown[] };
    assert.is(after.jobs.length, 1, 'refused jobs changed nothing');

    const missing = await fetch(`${master.url}/api/v1/jobs/job-nope`);
    assert.is(missing.status, 404);
    const killed = await fetch(`${master.url}/api/v1/jobs/${id}`, { method: 'DELETE' });
    assert.is(killed.status, 202);
    assert.is(((await killed.json()) as { state: string }).state, 'killed');
    const badLimit = await fetch(`${master.url}/api/v1/jobs?limit=0`);
    assert.is(badLimit.status, 400);
  }));

test('jobs: with HTTP credentials configured, changes need them', () =>
  withMaster({ json: true }, async (master) => {
    const anonymous = await postJob(master, { wasm: { digest: DIGEST } });
    assert.is(anonymous.status, 401);
    const wrong = await postJob(
      master,
      { wasm: { digest: DIGEST } },
      {
        authorization: basic(CREDENTIALS.principal, 'wrong'),
      },
    );
    assert.is(wrong.status, 401);
    const created = await postJob(
      master,
      { wasm: { digest: DIGEST } },
      {
        authorization: basic(CREDENTIALS.principal, CREDENTIALS.secret),
      },
    );
    assert.is(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    const kill = await fetch(`${master.url}/api/v1/jobs/${id}/kill`, { method: 'POST' });
    assert.is(kill.status, 401);
  }));

test('operator views: agents, frameworks, tasks, state, logs and metrics', () =>
  withMaster({ json: false }, async (master, keys) => {
    const context = contextOf(master);
    const agent = new DriverAgent(context, keys.agent.keyId);
    const agentId = await agent.register({ cpus: 2, mem: 1024 });
    const created = await postJob(master, {
      wasm: { digest: DIGEST },
      resources: { cpus: 0.5, mem: 128 },
      attributes: { zone: 'edge-1' },
    });
    const { id } = (await created.json()) as { id: string };
    const launch = await agent.next('launch');
    assert.is(launch.taskId, id);

    const agents = (await getJson(master, '/api/v1/agents')) as {
      agents: Array<Record<string, unknown>>;
    };
    assert.is(agents.agents.length, 1);
    assert.is(agents.agents[0]!['id'], agentId);
    assert.is(agents.agents[0]!['status'], 'active');
    assert.equal(agents.agents[0]!['resources'], { cpus: 2, mem: 1024 });
    assert.equal(agents.agents[0]!['used_resources'], { cpus: 0.5, mem: 128 });
    assert.equal(agents.agents[0]!['attributes'], { zone: 'edge-1' });

    const frameworks = (await getJson(master, '/api/v1/frameworks')) as {
      frameworks: Array<Record<string, unknown>>;
    };
    assert.equal(
      frameworks.frameworks.map((framework) => [framework['name'], framework['connected']]),
      [['wasmos-jobs', true]],
    );

    const tasks = (await getJson(master, '/api/v1/tasks')) as {
      tasks: Array<Record<string, unknown>>;
    };
    assert.equal(
      tasks.tasks.map((task) => [task['id'], task['state'], task['agent_id']]),
      [[id, 'TASK_STAGING', agentId]],
    );

    const state = await getJson(master, '/api/v1/state');
    assert.is(state['master_id'], context.masterId);
    assert.equal(state['leader'], { master_id: context.masterId, self: true });
    assert.equal(state['resources'], {
      total: { cpus: 2, mem: 1024 },
      used: { cpus: 0.5, mem: 128 },
      offered: {},
      free: { cpus: 1.5, mem: 896 },
    });

    // This test's agent is not on the agent channel, so it cannot be asked for logs.
    const logs = await fetch(`${master.url}/api/v1/tasks/${id}/logs?stream=stdout`);
    assert.is(logs.status, 502);
    assert.is(
      ((await logs.json()) as { error: { code: string } }).error.code,
      'AGENT_NOT_CONNECTED',
    );
    const unknown = await fetch(`${master.url}/api/v1/tasks/nope/logs`);
    assert.is(unknown.status, 404);
    const badStream = await fetch(`${master.url}/api/v1/tasks/${id}/logs?stream=stdin`);
    assert.is(badStream.status, 400);

    const metrics = await fetch(`${master.url}/metrics`);
    assert.is(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    const text = await metrics.text();
    for (const line of [
      'wasmos_master_agents_active 1',
      'wasmos_master_frameworks_active 1',
      'wasmos_master_tasks{state="TASK_STAGING"} 1',
      'wasmos_master_outstanding_offers ',
      'wasmos_master_resources{resource="cpus",kind="used"} 0.5',
      'wasmos_master_allocation_runs ',
      'wasmos_master_allocation_run_ms_last ',
      'wasmos_master_allocation_run_seconds_sum ',
      'wasmos_master_process_resident_memory_bytes ',
    ])
      assert.ok(text.includes(line), `metrics have ${line}`);

    // The task ends with its fuel: counted once for the jobs framework.
    await context.driver.submit({
      kind: 'statusUpdate',
      keyId: keys.agent.keyId,
      agentId,
      update: {
        frameworkId: launch.frameworkId,
        taskId: id,
        state: 'TASK_FINISHED',
        uuid: Buffer.from('uuid-finished').toString('base64'),
        source: 'SOURCE_EXECUTOR',
        timestampMs: Date.now(),
        exitCode: 0,
        fuelConsumed: 4242,
      },
    });
    await until(async () => {
      const job = await getJson(master, `/api/v1/jobs/${id}`);
      return job['state'] === 'finished';
    }, 'the job finished');
    for (let scrape = 0; scrape < 2; scrape++) {
      const again = await (await fetch(`${master.url}/metrics`)).text();
      assert.match(
        again,
        /wasmos_master_fuel_consumed_total\{[^}]*framework_name="wasmos-jobs"\} 4242/,
      );
    }
  }));

test.run();
