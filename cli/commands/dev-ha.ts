/**
 * `wasmos dev --ha`: a local ZooKeeper server (Debian's `zookeeper` package), three masters
 * electing a leader through it, and one agent that follows the leader (`zk://`), all in this
 * process, for trying high availability out (docs/HA.md). Kill nothing by hand here: stop a
 * master by stopping the whole thing, or run real processes for failover experiments.
 */
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { readMasterKeys } from '../../agent/checkpoint/identity.js';
import { WasmosError } from '../../lib/errors.js';
import { createLogger, type LogLevel } from '../../lib/log.js';
import { startLocalZooKeeper, type LocalZooKeeper } from '../../master/election/local-zookeeper.js';
import { startHaMaster, type RunningHaMaster } from '../../master/server/ha-master.js';
import { LeaderFollower } from '../client/leader.js';
import type { DevLayout } from './dev.js';

export const DEV_HA_DEFAULTS = {
  masters: 3,
  /** The election root in the local ZooKeeper. */
  rootPath: '/wasmos-dev',
  sessionTimeoutMs: 4000,
  /** How long a leader and the agent get to show up before `wasmos dev --ha` gives up. */
  readyTimeoutMs: 90_000,
} as const;

export interface DevHaCluster {
  readonly zk: LocalZooKeeper;
  readonly zkUrl: string;
  readonly masters: readonly RunningHaMaster[];
  readonly agent: RunningAgent;
  stop(): Promise<void>;
}

/**
 * Starts the HA dev cluster: masters on `port`, `port + 1`, `port + 2` (any free ports with
 * port 0), ZooKeeper's data kept in `<state-dir>/zookeeper`.
 */
export async function startDevHaCluster(options: {
  readonly stateDir: string;
  readonly layout: DevLayout;
  readonly port: number;
  readonly resources?: Readonly<Record<string, number>>;
  readonly level?: LogLevel;
}): Promise<DevHaCluster> {
  const { layout, level } = options;
  const logger = (name: string) => createLogger(name, level ? { level } : {});
  const zk = await startLocalZooKeeper({ dir: join(options.stateDir, 'zookeeper') }).catch(
    (error: unknown) => {
      throw new WasmosError('ZOOKEEPER_FAILED', `local ZooKeeper: ${(error as Error).message}`);
    },
  );
  const zkUrl = `zk://${zk.servers}${DEV_HA_DEFAULTS.rootPath}`;
  const masters: RunningHaMaster[] = [];
  let agent: RunningAgent | undefined;
  const stop = async (): Promise<void> => {
    // The agent first (it would only reconnect), then the standbys, the leader last.
    await agent?.stop();
    await Promise.allSettled(masters.map((master) => master.stop()));
    await zk.stop();
  };
  try {
    for (let index = 0; index < DEV_HA_DEFAULTS.masters; index++) {
      masters.push(
        await startHaMaster({
          workDir: join(options.stateDir, `master-${index + 1}`),
          keyFile: layout.masterKey,
          trustDir: layout.masterTrust,
          port: options.port === 0 ? 0 : options.port + index,
          host: '127.0.0.1',
          zk: { servers: zk.servers, rootPath: DEV_HA_DEFAULTS.rootPath },
          sessionTimeoutMs: DEV_HA_DEFAULTS.sessionTimeoutMs,
          log: logger(`master-${index + 1}`),
        }),
      );
    }
    agent = await startAgent({
      masterUrl: zkUrl,
      workDir: layout.agentWorkDir(1),
      trust: await readMasterKeys(layout.agentTrust),
      keyFile: layout.agentKey(1),
      hostname: 'dev-agent',
      logger: logger('agent-1'),
      ...(options.resources ? { resources: options.resources } : {}),
    });
    await waitForAgent(masters.map((master) => master.url));
  } catch (error) {
    await stop();
    throw error;
  }
  return { zk, zkUrl, masters, agent, stop };
}

/** Until the leader (reached through any master) lists an active agent. */
async function waitForAgent(urls: readonly string[]): Promise<void> {
  const follower = new LeaderFollower(urls);
  const deadline = Date.now() + DEV_HA_DEFAULTS.readyTimeoutMs;
  for (;;) {
    const answer = await follower
      .fetch('/api/v1/agents')
      .then(async (response) =>
        response.ok ? ((await response.json()) as { agents?: { status?: string }[] }) : undefined,
      )
      .catch(() => undefined);
    if (answer?.agents?.some((each) => each.status === 'active')) return;
    if (Date.now() > deadline)
      throw new WasmosError(
        'AGENTS_NOT_READY',
        `no leader with a registered agent within ${DEV_HA_DEFAULTS.readyTimeoutMs / 1000} s; run with WASMOS_LOG=info to see why`,
      );
    await new Promise((done) => setTimeout(done, 200));
  }
}

export function haBanner(cluster: DevHaCluster, stateDir: string): string {
  const urls = cluster.masters.map((master) => master.url);
  return [
    `wasmos dev --ha: ZooKeeper at ${cluster.zk.servers}`,
    ...urls.map((url, index) => `wasmos dev --ha: master ${index + 1} at ${url}`),
    `wasmos dev --ha: 1 agent following the leader through ${cluster.zkUrl}`,
    `wasmos dev --ha: state in ${stateDir}`,
    '',
    'Try:',
    `  wasmos agents --master ${cluster.zkUrl}`,
    `  wasmos tasks --master ${urls.join(',')}`,
    `  curl ${urls[0]}/api/v1/state   (a standby names the leader)`,
    '',
    'Ctrl-C stops the cluster.',
    '',
  ].join('\n');
}
