/**
 * Trivial wasm tasks through the whole path (issue 5, docs/BENCHMARKS.md): submit → offer →
 * launch → run (hello.wasm, cached on the agents after a warm-up) → FINISHED acknowledged.
 *
 *   npx tsc -p . && node dist/bench/cluster/throughput.js [--api scheduler|jobs] [--tasks 1000]
 *       [--rate 50] [--latency-tasks 300] [--agents 2] [--agent-cpus 4] [--task-cpus 0.1]
 *       [--task-mem 32] [--profile-agents DIR] [--profile-client DIR]
 *
 * Processes: the master runs in this process (startMaster, ephemeral port, file registry in a
 * temporary dir), so its CPU time is this process's; each agent is a child process running
 * startAgent (the real agent, wasm containerizer, its own work dir); the submitter is one more
 * child: a signed-CBOR framework (`--api scheduler`) or a client of POST /api/v1/jobs (`--api
 * jobs`). Two measured phases after a warm-up: throughput (`--tasks` submitted at once; tasks/s
 * from the first submission to the last terminal update acknowledged) and latency (`--latency-
 * tasks` submitted at `--rate` per second; submit-to-running p50/p99). CPU per task is given for
 * the master, the agents and the submitter. Run node with --cpu-prof to profile the master, and
 * pass --profile-agents DIR to profile the agents, --profile-client DIR the submitter.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchMaster } from './support/master.js';
import type { ClientConfig, PhaseRequest, PhaseResult } from './client-child.js';
import { uploadHello } from './support/hello.js';
import { BenchChild } from './support/ipc.js';
import { makeBenchKeys } from './support/keys.js';
import { cpuMs, loadAverage, positiveInt, positiveNumber } from './support/measure.js';

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'scheduler' },
    tasks: { type: 'string' },
    rate: { type: 'string' },
    'latency-tasks': { type: 'string' },
    'warmup-tasks': { type: 'string' },
    agents: { type: 'string' },
    'agent-cpus': { type: 'string' },
    'task-cpus': { type: 'string' },
    'task-mem': { type: 'string' },
    'profile-agents': { type: 'string' },
    'profile-client': { type: 'string' },
  },
});
const api = values.api;
if (api !== 'scheduler' && api !== 'jobs') throw new Error('--api is scheduler or jobs');
const tasks = positiveInt('tasks', values.tasks, 1000);
const rate = positiveNumber('rate', values.rate, 50);
const latencyTasks = positiveInt('latency-tasks', values['latency-tasks'], 300);
const warmupTasks = positiveInt('warmup-tasks', values['warmup-tasks'], 20);
const agentCount = positiveInt('agents', values.agents, 2);
const agentCpus = positiveNumber('agent-cpus', values['agent-cpus'], 4);
const taskCpus = positiveNumber('task-cpus', values['task-cpus'], 0.1);
const taskMem = positiveNumber('task-mem', values['task-mem'], 32);
/** The jobs API lists (and remembers) at most this many jobs: a phase can be no larger. */
const JOBS_PHASE_MAX = 1000;
if (api === 'jobs' && Math.max(tasks, latencyTasks) > JOBS_PHASE_MAX)
  throw new Error(`with --api jobs, --tasks and --latency-tasks are at most ${JOBS_PHASE_MAX}`);

const dir = await mkdtemp(join(tmpdir(), 'wasmos-bench-cluster-'));
const keys = await makeBenchKeys(dir, agentCount);
const master = await startBenchMaster(dir, keys);
const children: BenchChild[] = [];
try {
  const digest = await uploadHello(master.url);
  const agentExecArgv = values['profile-agents']
    ? ['--cpu-prof', `--cpu-prof-dir=${values['profile-agents']}`]
    : [];
  const agents = keys.agentKeyFiles.map((keyFile, index) =>
    BenchChild.fork(
      `agent${index}`,
      new URL('./agent-child.js', import.meta.url).pathname,
      [
        JSON.stringify({
          url: master.url,
          workDir: join(dir, `agent${index}`),
          keyFile,
          trustDir: keys.trustDir,
          cpus: agentCpus,
          memMiB: Math.ceil((agentCpus / taskCpus) * taskMem),
          hostname: `bench-agent-${index}`,
        }),
      ],
      agentExecArgv,
    ),
  );
  children.push(...agents);
  await Promise.all(agents.map((agent) => agent.receive('ready')));
  const clientConfig: ClientConfig = {
    url: master.url,
    trustDir: keys.trustDir,
    frameworkKeyFile: keys.frameworkKeyFile,
    api,
    digest,
    taskCpus,
    taskMem,
  };
  const clientExecArgv = values['profile-client']
    ? ['--cpu-prof', `--cpu-prof-dir=${values['profile-client']}`]
    : [];
  const client = BenchChild.fork(
    'client',
    new URL('./client-child.js', import.meta.url).pathname,
    [JSON.stringify(clientConfig)],
    clientExecArgv,
  );
  children.push(client);
  await client.receive('ready');

  const agentsCpuMs = async (): Promise<number> => {
    let total = 0;
    for (const agent of agents) {
      agent.send({ type: 'cpu' });
      total += (await agent.receive('cpu')).ms as number;
    }
    return total;
  };
  const phase = async (request: PhaseRequest) => {
    const loadBefore = loadAverage();
    const masterBefore = cpuMs();
    const agentsBefore = await agentsCpuMs();
    client.send({ type: 'run', request });
    const result = (await client.receive('result', 900_000)).result as PhaseResult;
    return {
      result,
      masterCpuMs: cpuMs() - masterBefore,
      agentsCpuMs: (await agentsCpuMs()) - agentsBefore,
      loadBefore,
      loadAfter: loadAverage(),
    };
  };

  console.log(
    `cluster bench: --api ${api}; master in-process, ${agentCount} agents (child processes, ${agentCpus} cpus each), submitter in a child; tasks hello.wasm with ${taskCpus} cpus / ${taskMem} MiB; node ${process.version}`,
  );
  const warmup = await phase({ label: 'warmup', tasks: warmupTasks, rate: 0 });
  console.log(
    `warm-up: ${warmup.result.ended}/${warmupTasks} tasks ended (${warmup.result.failed} failed)`,
  );
  const report = (
    title: string,
    measured: Awaited<ReturnType<typeof phase>>,
    showRate: boolean,
  ): void => {
    const { result } = measured;
    const perTask = (value: number) => (value / Math.max(1, result.ended)).toFixed(2);
    const latency = result.submitToRunningMs;
    console.log(`${title}: ${result.ended}/${result.tasks} ended, ${result.failed} failed`);
    console.log(`  load average before ${measured.loadBefore}, after ${measured.loadAfter}`);
    if (showRate)
      console.log(
        `  ${((result.ended * 1000) / result.wallMs).toFixed(0)} tasks/s (${(result.wallMs / 1000).toFixed(2)} s, first submit to last FINISHED acknowledged)`,
      );
    console.log(
      `  submit to running: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms (n=${latency.n})`,
    );
    console.log(
      `  CPU per task: master ${perTask(measured.masterCpuMs)} ms, agents ${perTask(measured.agentsCpuMs)} ms, submitter ${perTask(result.clientCpuMs)} ms`,
    );
    if (api === 'scheduler') {
      console.log(
        `  status updates resent before their acknowledgement: ${result.duplicateUpdates}`,
      );
      console.log(
        `  offers ${result.offers}, ACCEPT calls ${result.acceptCalls} (${(result.tasks / Math.max(1, result.acceptCalls)).toFixed(1)} tasks each)`,
      );
    }
    if (result.errors.length > 0) console.log(`  errors: ${result.errors.slice(0, 5).join('; ')}`);
    if (result.ended !== result.tasks || result.failed > 0) process.exitCode = 1;
  };
  report(
    `throughput (${tasks} at once)`,
    await phase({ label: 'throughput', tasks, rate: 0 }),
    true,
  );
  report(
    `latency (${latencyTasks} at ${rate}/s)`,
    await phase({ label: 'latency', tasks: latencyTasks, rate }),
    true,
  );
} finally {
  await Promise.all(children.map((child) => child.stop(30_000)));
  await master.stop();
  await rm(dir, { recursive: true, force: true });
}
