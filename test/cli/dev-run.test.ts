import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, DevCluster, ROOT, wasmos } from './cli-harness.js';
import { until } from '../support/until.js';
import { programPath as program, uploadProgram } from '../support/programs.js';

/**
 * End to end, as a user drives it: `wasmos dev` in the background (two agents with 1 cpu each),
 * then `wasmos run`, `tasks`, `agents`, `frameworks`, `logs`, `kill` as separate processes.
 */

const TASKS = 200;

let stateDir = '';
let cluster: DevCluster;
let env: Record<string, string> = {};

test.before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'wasmos-dev-'));
  cluster = await DevCluster.start(stateDir, ['--agents', '2', '--resources', 'cpus:1;mem:2048']);
  env = { WASMOS_MASTER: cluster.url };
});

test.after(async () => {
  const code = await cluster.stop();
  await rm(stateDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  assert.is(code, 0, 'wasmos dev stops cleanly on Ctrl-C');
});

interface Job {
  readonly id: string;
  readonly state: string;
  readonly agentId?: string;
  readonly exitCode?: number;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${cluster.url}${path}`);
  assert.is(response.status, 200, path);
  return (await response.json()) as T;
}

test(`${TASKS} tasks at once over two 1-cpu agents: all finish, each ran once, none lost`, async () => {
  const digest = await uploadProgram(cluster.url, 'hello');
  const submitted = await Promise.all(
    Array.from({ length: TASKS }, async () => {
      const response = await fetch(`${cluster.url}/api/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          wasm: { digest },
          resources: { cpus: 0.1, mem: 32 },
        }),
      });
      assert.is(response.status, 201);
      return ((await response.json()) as { id: string }).id;
    }),
  );
  assert.is(new Set(submitted).size, TASKS);
  let overCommitted = '';
  const jobs = await until(
    async () => {
      // While they run, neither agent holds more than it has.
      const { agents } = await getJson<{
        agents: Array<{ id: string; used_resources: { cpus?: number } }>;
      }>('/api/v1/agents');
      for (const agent of agents)
        if ((agent.used_resources.cpus ?? 0) > 1)
          overCommitted = `${agent.id}: ${agent.used_resources.cpus}`;
      const { jobs } = await getJson<{ jobs: Job[] }>('/api/v1/jobs');
      const mine = jobs.filter((job) => submitted.includes(job.id));
      return mine.length === TASKS && mine.every((job) => job.state === 'finished') && mine;
    },
    'every job finished',
    300_000,
  );
  assert.is(overCommitted, '', 'no agent over-committed');
  assert.ok(jobs.every((job) => job.exitCode === 0));
  const agentIds = new Set(jobs.map((job) => job.agentId));
  assert.is(agentIds.size, 2, 'both agents ran jobs');
  // Each launch makes one sandbox on its agent: 200 sandboxes in all means none ran twice.
  let sandboxes = 0;
  for (const agent of ['agent-1', 'agent-2'])
    sandboxes += (await readdir(join(stateDir, agent, 'sandboxes'))).length;
  assert.is(sandboxes, TASKS, 'one sandbox per job');
});

test('wasmos run hello: output, progress and exit code', async () => {
  const run = await wasmos(['run', program('hello')], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout, 'hello from wasm\n');
  assert.match(run.stderr, /placed on agent dev-agent-[12]/);
  assert.match(run.stderr, /finished exit=0 fuel=[\d,]+ memory=.+ time=/);
});

test('wasmos run passes arguments and environment', async () => {
  const args = await wasmos(['run', '-q', program('args-echo'), '--', 'one', 'two words'], env);
  assert.is(args.code, 0, args.stderr);
  assert.match(args.stdout, /one/);
  assert.match(args.stdout, /two words/);
  const vars = await wasmos(['run', '-q', '--env', 'GREETING=hi there', program('env-dump')], env);
  assert.is(vars.code, 0, vars.stderr);
  assert.match(vars.stdout, /GREETING=hi there/);
});

test('wasmos run of a CPU kernel: its result, and the fuel it burned', async () => {
  const kernel = join(ROOT, 'components', 'built', 'kernels', 'fib.wasm');
  const run = await wasmos(['run', kernel, '--', '25', '1'], env);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /fib n=25 repeats=1 value=75025 /);
  const fuel = /finished exit=0 fuel=([\d,]+)/.exec(run.stderr);
  assert.ok(fuel, run.stderr);
  assert.ok(Number(fuel[1]!.replaceAll(',', '')) > 100_000, 'fib(25) burns real fuel');
});

test('a fuel-exhausting loop ends non-zero and says why', async () => {
  const run = await wasmos(['run', '--fuel', '1000000', program('infinite-loop')], env);
  assert.ok(run.code !== 0 && run.code !== null, `exit ${run.code}`);
  assert.match(run.stderr, /failed REASON_FUEL_EXHAUSTED/);
  assert.match(run.stderr, /fuel=1,000,000/);
});

test('a memory bomb is stopped at its mem and says why', async () => {
  const run = await wasmos(['run', '--mem', '16', program('memory-bomb')], env);
  assert.ok(run.code !== 0 && run.code !== null, `exit ${run.code}`);
  assert.match(run.stderr, /REASON_CONTAINER_LIMITATION_MEMORY/);
});

test('a job no agent can take waits with its reason, shows in tasks, and can be killed', async () => {
  const detached = await wasmos(
    ['run', '--detach', '--attr', 'zone:nowhere', program('hello')],
    env,
  );
  assert.is(detached.code, 0, detached.stderr);
  const id = detached.stdout.trim();
  assert.match(id, /^job-/);
  const tasks = await wasmos(['tasks'], env);
  assert.is(tasks.code, 0, tasks.stderr);
  assert.match(tasks.stdout, new RegExp(`${id}\\s+hello.wasm\\s+QUEUED.*zone:nowhere`));
  const json = await wasmos(['tasks', '--json'], env);
  const parsed = JSON.parse(json.stdout) as {
    queued_jobs: Array<{ id: string; waiting: { code: string } }>;
  };
  assert.is(parsed.queued_jobs.find((job) => job.id === id)?.waiting.code, 'attributes_unmatched');
  const killed = await wasmos(['kill', id], env);
  assert.is(killed.code, 0, killed.stderr);
  assert.match(killed.stderr, /killed/);
  const unknown = await wasmos(['kill', 'job-none'], env);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /not a job on this master/);
});

test('wasmos kill stops a running job; Ctrl-C on wasmos run kills its job', async () => {
  const loop = ['--fuel', '1000000000000000', '--timeout', '300s', program('infinite-loop')];
  const detached = await wasmos(['run', '--detach', ...loop], env);
  const id = detached.stdout.trim();
  await until(
    async () => (await getJson<Job>(`/api/v1/jobs/${id}`)).state === 'running',
    'running',
  );
  const killed = await wasmos(['kill', id], env);
  assert.is(killed.code, 0, killed.stderr);
  const ended = await until(async () => {
    const job = await getJson<Job & { taskState?: string }>(`/api/v1/jobs/${id}`);
    return job.state !== 'running' && job;
  }, 'the job ended');
  assert.is(ended.state, 'killed');
  assert.is(ended.taskState, 'TASK_KILLED');

  const child = spawn(process.execPath, [CLI, 'run', ...loop], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await until(() => stderr.includes('running on'), 'wasmos run shows the job running');
  child.kill('SIGINT');
  assert.is(await exited, 137, stderr);
  assert.match(stderr, /killing job job-/);
  assert.match(stderr, /wasmos: killed/);
});

test("wasmos logs prints a finished task's output", async () => {
  const detached = await wasmos(['run', '--detach', program('hello')], env);
  const id = detached.stdout.trim();
  await until(
    async () => (await getJson<Job>(`/api/v1/jobs/${id}`)).state === 'finished',
    'finished',
  );
  const logs = await wasmos(['logs', id], env);
  assert.is(logs.code, 0, logs.stderr);
  assert.is(logs.stdout, 'hello from wasm\n');
  const followed = await wasmos(['logs', '-f', id], env);
  assert.is(followed.stdout, 'hello from wasm\n');
});

test('wasmos run --linux runs a command where agents offer linux, else waits saying why', async () => {
  const { agents } = await getJson<{ agents: Array<{ runtimes: string[] }> }>('/api/v1/agents');
  const command = ['--linux', '--', '/bin/sh', '-c', 'echo hi; echo oops >&2; exit 3'];
  if (agents.some((agent) => agent.runtimes.includes('linux'))) {
    const run = await wasmos(['run', ...command], env);
    assert.is(run.code, 3, run.stderr);
    assert.is(run.stdout, 'hi\n');
    assert.match(run.stderr, /oops/);
    assert.match(run.stderr, /failed .*exit=3/);
    // --read-only: a host directory anyone may write (so only a read-only mount stops the
    // command) stays untouched, while its sandbox and /tmp take writes.
    const open = await mkdtemp('/var/lib/wasmos-cli-open-');
    try {
      await chmod(open, 0o1777);
      const probe = `touch ${open}/x; echo $?; touch /tmp/x ./y && echo written`;
      const readOnly = await wasmos(
        ['run', '--linux', '--read-only', '--', '/bin/sh', '-c', probe],
        env,
      );
      assert.is(readOnly.code, 0, readOnly.stderr);
      assert.is(readOnly.stdout, '1\nwritten\n');
      assert.match(readOnly.stderr, /Read-only file system/);
      assert.equal(await readdir(open), []);
    } finally {
      await rm(open, { recursive: true, force: true });
    }
    return;
  }
  // No root or cgroups here: the agents said why, and the job says it too.
  const detached = await wasmos(['run', '--detach', ...command], env);
  const id = detached.stdout.trim();
  const job = await getJson<{ state: string; waiting?: { code: string } }>(`/api/v1/jobs/${id}`);
  assert.is(job.state, 'queued');
  assert.is(job.waiting?.code, 'runtime_unavailable');
  assert.is((await wasmos(['kill', id], env)).code, 0);
});

test('agents and frameworks tables, and --json', async () => {
  const agents = await wasmos(['agents'], env);
  assert.is(agents.code, 0, agents.stderr);
  assert.match(agents.stdout, /^ID\s+HOSTNAME\s+STATUS/);
  assert.match(agents.stdout, /dev-agent-1\s+active/);
  assert.match(agents.stdout, /dev-agent-2\s+active/);
  const json = JSON.parse((await wasmos(['agents', '--json'], env)).stdout) as {
    agents: Array<{ resources: { cpus: number } }>;
  };
  assert.equal(
    json.agents.map((agent) => agent.resources.cpus),
    [1, 1],
  );
  const frameworks = await wasmos(['frameworks'], env);
  assert.match(frameworks.stdout, /wasmos-jobs\s+jobs/);
});

test('an unreachable master is an error that says what to do', async () => {
  const run = await wasmos(['tasks', '--master', 'http://127.0.0.1:9'], {});
  assert.is(run.code, 1);
  assert.match(run.stderr, /cannot reach a master at http:\/\/127\.0\.0\.1:9.*wasmos dev/);
});

test.run();
