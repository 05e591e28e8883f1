/**
 * Offers and launches per second through the master's real HTTP API (issue 4, docs/BENCHMARKS.md).
 *
 *   npx tsc -p . && node dist/bench/master/offers.js [--agents 10] [--tasks 2000]
 *       [--agent-cpus 8] [--task-cpus 0.1] [--task-mem 16]
 *
 * The master runs in this process (startMaster on an ephemeral port, its file registry in a
 * temporary work dir); a child process (offers-load.ts) runs the simulated agents (signed agent
 * channel: REGISTER stream, STATUS_UPDATE calls; each LAUNCH answered with RUNNING, then FINISHED
 * once RUNNING is acknowledged, nothing run) and one signed-CBOR framework that accepts every
 * offer with as many tiny tasks as fit and acknowledges every update. So this process's CPU time
 * (process.cpuUsage) is the master's, and is reported per task: on a shared machine that is the
 * figure to compare, more than the wall rates. Add `--cpu-prof` to node to profile the master.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startBenchMaster } from '../cluster/support/master.js';
import { BenchChild } from '../cluster/support/ipc.js';
import { makeBenchKeys } from '../cluster/support/keys.js';
import { cpuMs, loadAverage, positiveInt, positiveNumber } from '../cluster/support/measure.js';
import { uploadHello } from '../cluster/support/hello.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string' },
    tasks: { type: 'string' },
    'agent-cpus': { type: 'string' },
    'task-cpus': { type: 'string' },
    'task-mem': { type: 'string' },
  },
});
const agents = positiveInt('agents', values.agents, 10);
const tasks = positiveInt('tasks', values.tasks, 2000);
const agentCpus = positiveNumber('agent-cpus', values['agent-cpus'], 8);
const taskCpus = positiveNumber('task-cpus', values['task-cpus'], 0.1);
const taskMem = positiveNumber('task-mem', values['task-mem'], 16);

export interface OffersLoadResult {
  readonly wallMs: number;
  /** CPU time of the simulated agents and the framework (their process). */
  readonly loadCpuMs: number;
  readonly offers: number;
  readonly acceptCalls: number;
  readonly launched: number;
  readonly ended: number;
  readonly failed: number;
  readonly duplicateUpdates: number;
  readonly launchesSeenByAgents: number;
  readonly errors: readonly string[];
}

const dir = await mkdtemp(join(tmpdir(), 'wasmos-bench-offers-'));
const keys = await makeBenchKeys(dir, agents);
const master = await startBenchMaster(dir, keys);
const load = BenchChild.fork('load', new URL('./offers-load.js', import.meta.url).pathname, [
  JSON.stringify({
    url: master.url,
    trustDir: keys.trustDir,
    frameworkKeyFile: keys.frameworkKeyFile,
    agentKeyFiles: keys.agentKeyFiles,
    agentCpus,
    taskCpus,
    taskMem,
    tasks,
    digest: await uploadHello(master.url),
  }),
]);
try {
  await load.receive('ready');
  const loadBefore = loadAverage();
  const cpuBefore = cpuMs();
  const startedAt = performance.now();
  load.send({ type: 'run' });
  const result = (await load.receive('result', 600_000)).result as OffersLoadResult;
  const wallMs = performance.now() - startedAt;
  const masterCpuMs = cpuMs() - cpuBefore;
  console.log(
    `offers bench: ${agents} simulated agents x ${agentCpus} cpus, ${tasks} tasks of ${taskCpus} cpus / ${taskMem} MiB; node ${process.version}`,
  );
  console.log(`load average before ${loadBefore}, after ${loadAverage()}`);
  console.log(
    `tasks ${result.ended}/${tasks} finished and acknowledged (${result.failed} failed) in ${(wallMs / 1000).toFixed(2)} s`,
  );
  console.log(`status updates resent before their acknowledgement: ${result.duplicateUpdates}`);
  console.log(
    `offers    ${result.offers}  ${((result.offers * 1000) / result.wallMs).toFixed(0)}/s`,
  );
  console.log(
    `launches  ${result.launched}  ${((result.launched * 1000) / result.wallMs).toFixed(0)}/s  (${result.acceptCalls} ACCEPT calls, ${(result.launched / Math.max(1, result.acceptCalls)).toFixed(1)} tasks each)`,
  );
  console.log(
    `master CPU ${masterCpuMs.toFixed(0)} ms: ${(masterCpuMs / Math.max(1, result.ended)).toFixed(3)} ms per task (launch + 2 updates + 2 acks), ${((masterCpuMs / wallMs) * 100).toFixed(0)}% of a core`,
  );
  console.log(
    `simulated agents + framework CPU ${result.loadCpuMs.toFixed(0)} ms: ${(result.loadCpuMs / Math.max(1, result.ended)).toFixed(3)} ms per task, ${((result.loadCpuMs / wallMs) * 100).toFixed(0)}% of a core`,
  );
  if (result.errors.length > 0) console.log(`errors: ${result.errors.slice(0, 5).join('; ')}`);
  if (result.ended !== tasks || result.launchesSeenByAgents !== result.launched)
    process.exitCode = 1;
} finally {
  await load.stop();
  await master.stop();
  await rm(dir, { recursive: true, force: true });
}
