/**
 * The load side of offers.ts, in its own process so that the bench process's CPU time is the
 * master's: simulated agents and one framework. Not run by hand.
 */
import { performance } from 'node:perf_hooks';
import { BenchFramework } from '../cluster/support/framework.js';
import { ParentChannel } from '../cluster/support/ipc.js';
import { loadIdentity, loadMasterTrust } from '../cluster/support/keys.js';
import { cpuMs, waitUntil } from '../cluster/support/measure.js';
import { SimAgent } from '../cluster/support/sim-agent.js';
import type { OffersLoadResult } from './offers.js';

interface LoadConfig {
  readonly url: string;
  readonly trustDir: string;
  readonly frameworkKeyFile: string;
  readonly agentKeyFiles: readonly string[];
  readonly agentCpus: number;
  readonly taskCpus: number;
  readonly taskMem: number;
  readonly tasks: number;
  readonly digest: string;
}

const parent = new ParentChannel();
const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const trust = await loadMasterTrust(config.trustDir);
const agents = await Promise.all(
  config.agentKeyFiles.map(
    async (keyFile, index) =>
      new SimAgent({
        url: config.url,
        identity: await loadIdentity(keyFile),
        masterTrust: trust,
        hostname: `sim-${index}`,
        cpus: config.agentCpus,
        memMiB: Math.ceil((config.agentCpus / config.taskCpus) * config.taskMem),
      }),
  ),
);
for (const agent of agents) await agent.start();
const framework = new BenchFramework({
  url: config.url,
  identity: await loadIdentity(config.frameworkKeyFile),
  masterTrust: trust,
  taskCpus: config.taskCpus,
  taskMemMiB: config.taskMem,
  wasm: { digest: config.digest },
});
await framework.subscribe();
parent.send({ type: 'ready' });
await parent.receive('run');
const startedAt = performance.now();
const cpuBefore = cpuMs();
for (let index = 0; index < config.tasks; index++) framework.submit(`task-${index}`);
const progress = setInterval(() => console.error(`progress: ${framework.progress()}`), 10_000);
await waitUntil(() => framework.ended >= config.tasks, 'every task to finish', 600_000);
clearInterval(progress);
const result: OffersLoadResult = {
  wallMs: performance.now() - startedAt,
  loadCpuMs: cpuMs() - cpuBefore,
  offers: framework.offersReceived,
  acceptCalls: framework.acceptCalls,
  launched: framework.launched,
  ended: framework.ended,
  failed: framework.failedTasks,
  duplicateUpdates: framework.duplicateUpdates,
  launchesSeenByAgents: agents.reduce((sum, agent) => sum + agent.launches, 0),
  errors: [...framework.errors, ...agents.flatMap((agent) => agent.errors)],
};
parent.send({ type: 'result', result });
await parent.receive('stop');
framework.close();
for (const agent of agents) agent.stop();
process.exit(0);
