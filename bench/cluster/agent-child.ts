/**
 * A real agent (startAgent: wasm containerizer through the executor) in its own process, for
 * throughput.ts: reports when it registered and, when asked, its CPU time. Not run by hand.
 */
import { startAgent } from '../../agent/agent.js';
import { createLogger } from '../../lib/log.js';
import { ParentChannel } from './support/ipc.js';
import { loadIdentity, loadMasterTrust } from './support/keys.js';
import { cpuMs, waitUntil } from './support/measure.js';

interface AgentConfig {
  readonly url: string;
  readonly workDir: string;
  readonly keyFile: string;
  readonly trustDir: string;
  readonly cpus: number;
  readonly memMiB: number;
  readonly hostname: string;
}

const parent = new ParentChannel();
const config = JSON.parse(process.argv[2] ?? '{}') as AgentConfig;
const agent = await startAgent({
  masterUrl: config.url,
  workDir: config.workDir,
  trust: await loadMasterTrust(config.trustDir),
  identity: await loadIdentity(config.keyFile),
  resources: { cpus: config.cpus, mem: config.memMiB },
  runtimes: ['wasm'],
  hostname: config.hostname,
  logger: createLogger('agent', { level: 'warn' }),
});
await waitUntil(() => agent.snapshot().connected, 'the agent to register', 60_000, 20);
parent.send({ type: 'ready', agentId: agent.agentId });
void (async () => {
  for (;;) {
    await parent.receive('cpu');
    parent.send({ type: 'cpu', ms: cpuMs() });
  }
})();
await parent.receive('stop');
await agent.stop();
process.exit(0);
