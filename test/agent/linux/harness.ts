/**
 * Real Linux containers for tests: a throwaway run directory and agent name per harness, and a
 * cleanup that leaves no cgroup, supervisor or task behind even when a test failed half-way
 * (a fresh containerizer's recover([]) treats everything left as an orphan and removes it).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentOptions, type RunningAgent } from '../../../agent/agent.js';
import type { CommandSpec, LaunchSpec } from '../../../agent/containerizer/containerizer.js';
import {
  linuxCapabilities,
  type Capabilities,
} from '../../../agent/containerizer/linux/capabilities.js';
import {
  LinuxContainerizer,
  type LinuxContainerizerOptions,
} from '../../../agent/containerizer/linux/linux-containerizer.js';
import { silentLogger } from '../../../lib/log.js';
import type { Identity } from '../../../protocol/keys/identity.js';
import { eventually, type FakeMaster } from '../support/fake-master.js';
import { AGENT_DEADLINE_MS } from '../support/task-updates.js';

type ReadyCapabilities = Extract<Capabilities, { ok: true }>;
let cached: Promise<ReadyCapabilities> | undefined;

/** Tests run as root on a host that can isolate; anything else is a failure to see, not skip. */
export function readyCapabilities(): Promise<ReadyCapabilities> {
  cached ??= linuxCapabilities().then((caps) => {
    if (!caps.ok)
      throw new Error(`this host cannot run linux containers: ${caps.reasons.join('; ')}`);
    return caps;
  });
  return cached;
}

let harnessCount = 0;

export interface LinuxHarness {
  readonly agentName: string;
  readonly runDir: string;
  readonly capabilities: ReadyCapabilities;
  make(options?: Partial<LinuxContainerizerOptions>): LinuxContainerizer;
  sandbox(): Promise<string>;
  spec(
    containerId: string,
    sandboxDir: string,
    command: Partial<CommandSpec>,
    resources?: Partial<LaunchSpec['resources']>,
  ): LaunchSpec;
  cleanup(): Promise<void>;
}

export async function linuxHarness(): Promise<LinuxHarness> {
  const capabilities = await readyCapabilities();
  const base = await mkdtemp(join(tmpdir(), 'wasmos-linux-'));
  await chmod(base, 0o755);
  const agentName = `test-${process.pid}-${++harnessCount}`;
  const runDir = join(base, 'run');
  const made: LinuxContainerizer[] = [];
  const harness: LinuxHarness = {
    agentName,
    runDir,
    capabilities,
    make(options = {}) {
      const containerizer = new LinuxContainerizer(capabilities, {
        agentName,
        runDir,
        pollIntervalMs: 50,
        ...options,
      });
      made.push(containerizer);
      return containerizer;
    },
    async sandbox() {
      return mkdtemp(join(base, 'sandbox-'));
    },
    spec(containerId, sandboxDir, command, resources = {}) {
      return {
        containerId,
        taskId: `task-${containerId}`,
        sandboxDir,
        runtime: 'linux',
        resources: { cpus: 1, memMiB: 64, diskMiB: 16, ...resources },
        command: { shell: true, value: 'true', arguments: [], environment: {}, ...command },
      };
    },
    async cleanup() {
      for (const containerizer of made) await containerizer.close();
      const sweeper = new LinuxContainerizer(capabilities, { agentName, runDir });
      await sweeper.recover([]);
      await sweeper.close();
      await rm(base, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Runs `body` with a fresh harness and cleans it up (containers, cgroups, files) whatever happens. */
export async function withLinuxHarness(
  body: (harness: LinuxHarness) => Promise<void>,
): Promise<void> {
  const harness = await linuxHarness();
  try {
    await body(harness);
  } finally {
    await harness.cleanup();
  }
}

/**
 * A whole agent offering only `linux`, subscribed to `master` (it must trust `identity`), with
 * quick reconnects and update retries for tests.
 */
export async function startLinuxAgent(
  master: FakeMaster,
  workDir: string,
  identity: Identity,
  options: Pick<AgentOptions, 'linuxFilesystem'> = {},
): Promise<RunningAgent> {
  const agent = await startAgent({
    masterUrl: master.url,
    workDir,
    trust: master.masterTrust(),
    identity,
    resources: { cpus: 2, mem: 1024, disk: 1024 },
    runtimes: ['linux'],
    logger: silentLogger,
    ...options,
    limits: { reconnectBackoffBaseMs: 20, reconnectBackoffMaxMs: 100, updateRetryBaseMs: 200 },
  });
  await eventually(
    'the agent subscribed',
    () => (agent.snapshot().connected ? true : undefined),
    AGENT_DEADLINE_MS,
  );
  return agent;
}
