import type { Command } from 'commander';
import { access, copyFile, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { readMasterKeys } from '../../agent/checkpoint/identity.js';
import { parseResources } from '../../agent/options.js';
import { WasmosError } from '../../lib/errors.js';
import { createLogger, type LogLevel } from '../../lib/log.js';
import {
  MASTER_DEFAULTS,
  startMaster,
  type RunningMaster,
} from '../../master/server/master-process.js';
import { generateIdentity, writeKeyPair } from '../../protocol/index.js';
import { haBanner, startDevHaCluster } from './dev-ha.js';

/** Defaults and bounds of `wasmos dev` (docs/CLI.md). */
export const DEV_DEFAULTS = {
  stateDir: join(homedir(), '.wasmos', 'dev'),
  agents: 1,
  agentsMax: 16,
  /** How long the agents get to register before `wasmos dev` gives up. */
  readyTimeoutMs: 60_000,
} as const;

interface DevFlags {
  readonly port: string;
  readonly stateDir: string;
  readonly agents: string;
  readonly resources?: string;
  readonly ha?: boolean;
}

/** The dev cluster's keys and trust directories, made on first run and reused after. */
export interface DevLayout {
  readonly masterKey: string;
  readonly masterTrust: string;
  readonly agentTrust: string;
  agentKey(index: number): string;
  masterWorkDir: string;
  agentWorkDir(index: number): string;
}

export function devLayout(stateDir: string): DevLayout {
  return {
    masterKey: join(stateDir, 'keys', 'master.key'),
    masterTrust: join(stateDir, 'master-trust'),
    agentTrust: join(stateDir, 'agent-trust'),
    agentKey: (index) => join(stateDir, 'keys', `agent-${index}.key`),
    masterWorkDir: join(stateDir, 'master'),
    agentWorkDir: (index) => join(stateDir, `agent-${index}`),
  };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** A key pair NAME.key/.pub in `keys`, its public half copied into `trustDir`; kept if present. */
async function ensureKey(
  stateDir: string,
  name: string,
  role: 'master' | 'agent',
  trustDir: string,
) {
  const keys = join(stateDir, 'keys');
  if (!(await exists(join(keys, `${name}.key`)))) {
    const written = await writeKeyPair(keys, name, role, generateIdentity());
    if (!written.ok) throw new WasmosError(written.error.code, written.error.message);
  }
  const trusted = join(trustDir, `${name}.pub`);
  if (!(await exists(trusted))) {
    await mkdir(trustDir, { recursive: true, mode: 0o700 });
    await copyFile(join(keys, `${name}.pub`), trusted);
  }
}

/** Keys for the master and `agents` agents, each trusted by the other side. */
export async function prepareDevState(stateDir: string, agents: number): Promise<DevLayout> {
  const layout = devLayout(stateDir);
  await ensureKey(stateDir, 'master', 'master', layout.agentTrust);
  for (let index = 1; index <= agents; index++)
    await ensureKey(stateDir, `agent-${index}`, 'agent', layout.masterTrust);
  return layout;
}

function intFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new WasmosError(
      'BAD_OPTION',
      `--${name} must be an integer from ${min} to ${max}, got "${text}"`,
    );
  return value;
}

/** The example component, relative to where the user is (it ships with the package). */
function exampleComponent(): string {
  const path = fileURLToPath(
    new URL('../../../components/built/programs/hello.wasm', import.meta.url),
  );
  const shown = relative(process.cwd(), path);
  return shown.startsWith('..') ? path : shown;
}

async function startCluster(flags: DevFlags) {
  const port = intFlag('port', flags.port, 0, 65_535);
  const agentCount = intFlag('agents', flags.agents, 1, DEV_DEFAULTS.agentsMax);
  const resources = flags.resources === undefined ? undefined : parseResources(flags.resources);
  if (resources && !resources.ok)
    throw new WasmosError('BAD_OPTION', `--resources: ${resources.error}`);
  const stateDir = resolve(flags.stateDir);
  const layout = await prepareDevState(stateDir, agentCount);
  // Quiet by default (warnings and errors); WASMOS_LOG=info or debug shows more.
  const level: LogLevel | undefined = process.env['WASMOS_LOG'] ? undefined : 'warn';
  const master = await startMaster({
    workDir: layout.masterWorkDir,
    keyFile: layout.masterKey,
    trustDir: layout.masterTrust,
    port,
    host: MASTER_DEFAULTS.host,
    log: createLogger('master', level ? { level } : {}),
  }).catch((error: unknown) => {
    if (error instanceof WasmosError && error.code === 'LISTEN_FAILED')
      throw new WasmosError(
        error.code,
        `${error.message}: is another \`wasmos dev\` (or master) running? Stop it, or pick another --port`,
      );
    throw error;
  });
  const agents: RunningAgent[] = [];
  try {
    const trust = await readMasterKeys(layout.agentTrust);
    for (let index = 1; index <= agentCount; index++) {
      agents.push(
        await startAgent({
          masterUrl: master.url,
          workDir: layout.agentWorkDir(index),
          trust,
          keyFile: layout.agentKey(index),
          hostname: agentCount === 1 ? 'dev-agent' : `dev-agent-${index}`,
          logger: createLogger(`agent-${index}`, level ? { level } : {}),
          ...(resources ? { resources: resources.value } : {}),
        }),
      );
    }
    await waitForAgents(master, agentCount);
  } catch (error) {
    await stopCluster(master, agents);
    throw error;
  }
  return { master, agents, stateDir };
}

async function waitForAgents(master: RunningMaster, count: number): Promise<void> {
  const deadline = Date.now() + DEV_DEFAULTS.readyTimeoutMs;
  for (;;) {
    const view = master.context?.driver.view();
    let active = 0;
    for (const agent of view?.agents.values() ?? []) if (agent.status === 'active') active++;
    if (active >= count) return;
    if (Date.now() > deadline)
      throw new WasmosError(
        'AGENTS_NOT_READY',
        `${active} of ${count} agents registered within ${DEV_DEFAULTS.readyTimeoutMs / 1000} s; run with WASMOS_LOG=info to see why`,
      );
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function stopCluster(master: RunningMaster, agents: readonly RunningAgent[]): Promise<void> {
  await Promise.allSettled(agents.map((agent) => agent.stop()));
  await master.stop();
}

function banner(url: string, stateDir: string, agents: readonly RunningAgent[]): string {
  const capacity = agents
    .map(
      (agent) =>
        `cpus:${agent.capacity.cpus} mem:${agent.capacity.memMiB} (${agent.runtimes.join(',')})`,
    )
    .join('; ');
  const master = url === `http://127.0.0.1:${MASTER_DEFAULTS.port}` ? '' : ` --master ${url}`;
  const example = exampleComponent();
  // In a checkout (the example is under the working directory) the command is the package's own.
  const wasmos = example.startsWith('/') ? 'wasmos' : 'npx wasmos';
  return [
    `wasmos dev: master at ${url}`,
    `wasmos dev: ${agents.length} agent(s) ready: ${capacity}`,
    `wasmos dev: state in ${stateDir}`,
    '',
    'Try:',
    `  ${wasmos} run ${example}${master}`,
    `  ${wasmos} tasks${master}`,
    `  curl ${url}/api/v1/state`,
    '',
    'Ctrl-C stops the cluster.',
    '',
  ].join('\n');
}

/** `wasmos dev --ha` until Ctrl-C (cli/commands/dev-ha.ts). */
async function runHaCluster(flags: DevFlags): Promise<void> {
  const port = intFlag('port', flags.port, 0, 65_533);
  const resources = flags.resources === undefined ? undefined : parseResources(flags.resources);
  if (resources && !resources.ok)
    throw new WasmosError('BAD_OPTION', `--resources: ${resources.error}`);
  const stateDir = resolve(flags.stateDir);
  const layout = await prepareDevState(stateDir, 1);
  const level: LogLevel | undefined = process.env['WASMOS_LOG'] ? undefined : 'warn';
  const cluster = await startDevHaCluster({
    stateDir,
    layout,
    port,
    ...(resources ? { resources: resources.value } : {}),
    ...(level ? { level } : {}),
  });
  process.stdout.write(haBanner(cluster, stateDir));
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write('wasmos dev: stopping\n');
      void cluster.stop().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `wasmos dev`: a master and its agents in this process, until Ctrl-C. */
export function register(program: Command): void {
  program
    .command('dev')
    .description('run a one-machine cluster (a master and an agent) for development')
    .option(
      '--port <port>',
      'HTTP port of the master (0: any free port)',
      String(MASTER_DEFAULTS.port),
    )
    .option('--state-dir <dir>', 'keys, registry, components and sandboxes', DEV_DEFAULTS.stateDir)
    .option('--agents <n>', 'agents to start', String(DEV_DEFAULTS.agents))
    .option(
      '--resources <list>',
      'resources of each agent, e.g. "cpus:1;mem:2048" (default: the host)',
    )
    .option(
      '--ha',
      'a local ZooKeeper, three masters electing a leader and an agent following it (docs/HA.md)',
    )
    .action(async (flags: DevFlags) => {
      if (flags.ha) return runHaCluster(flags);
      const { master, agents, stateDir } = await startCluster(flags);
      process.stdout.write(banner(master.url, stateDir, agents));
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.stderr.write('wasmos dev: stopping\n');
          void stopCluster(master, agents).then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
