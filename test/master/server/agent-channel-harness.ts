/**
 * The agent channel's route tests (agent-routes, agent-batches) share this: a real master on an
 * ephemeral port with temporary cluster keys, hand-driven raw agents, and a framework that
 * subscribes and launches through the driver, so a test can put tasks on an agent without a
 * framework client.
 */
import { sign } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { createLogger } from '../../../lib/log.js';
import type { FrameworkEvent, TaskLaunch } from '../../../master/core/messages.js';
import type { MasterContext } from '../../../master/server/context.js';
import {
  startMaster,
  type MasterProcessOptions,
  type RunningMaster,
} from '../../../master/server/master-process.js';
import {
  ENVELOPE_VERSION,
  encodeCbor,
  newSessionId,
  wrap,
  type AgentInfo,
  type Identity,
} from '../../../protocol/index.js';
import { makeClusterKeys, type ClusterKeys } from '../../e2e/support/keys.js';
import { RawAgent } from '../../e2e/support/raw-agent.js';
import { until } from '../../support/until.js';

/** What the raw agents register with: 2 cpus, 1 GiB, the wasm runtime, in zone edge-1. */
export const agentInfo: AgentInfo = {
  hostname: 'edge-1',
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
  ],
  attributes: [{ name: 'zone', type: 'TEXT', text: { value: 'edge-1' } }],
  runtimes: ['wasm'],
  version: 'test',
};

export interface AgentChannelCluster {
  readonly keys: ClusterKeys;
  readonly master: RunningMaster;
  readonly ctx: MasterContext;
  /** A raw agent with the index-th agent key, disconnected when the test ends. */
  agent(index: number): RawAgent;
  /** REGISTERs the agent and waits for REGISTERED on its live stream; returns its id. */
  registered(agent: RawAgent): Promise<string>;
}

export interface AgentChannelMasterOptions {
  /** How many agent keys the cluster trusts. */
  readonly agentKeys: number;
  readonly httpLimits?: MasterProcessOptions['httpLimits'];
}

/**
 * Runs `body` against a fresh master (fast allocation, 200 ms agent heartbeats), then
 * disconnects its agents, stops the master and removes the keys, whether it passed or not.
 */
export async function withAgentChannelMaster(
  options: AgentChannelMasterOptions,
  body: (cluster: AgentChannelCluster) => Promise<void>,
): Promise<void> {
  const keys = await makeClusterKeys(options.agentKeys);
  const master = await startMaster({
    workDir: join(keys.dir, 'master'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    port: 0,
    log: createLogger('master', { level: 'error' }),
    timings: { allocationIntervalMs: 50, agentHeartbeatIntervalMs: 200 },
    ...(options.httpLimits ? { httpLimits: options.httpLimits } : {}),
  });
  const agents: RawAgent[] = [];
  const cluster: AgentChannelCluster = {
    keys,
    master,
    ctx: master.context!,
    agent(index) {
      const agent = new RawAgent(master.url, keys.agents[index]!, keys.masterTrust);
      agents.push(agent);
      return agent;
    },
    async registered(agent) {
      const response = await agent.subscribe({
        type: 'REGISTER',
        register: { agent_info: agentInfo },
      });
      assert.is(response.status, 200);
      const first = await until(() => agent.events[0], 'REGISTERED');
      assert.is(first.type, 'REGISTERED');
      return first.type === 'REGISTERED' ? first.registered.agent_id.value : '';
    },
  };
  try {
    await body(cluster);
  } finally {
    for (const agent of agents) agent.disconnect();
    await master.stop();
    await rm(keys.dir, { recursive: true, force: true });
  }
}

/** An envelope signed correctly around a body the schema refuses (Signer would not seal it). */
export function sealUnchecked(identity: Identity, body: unknown): Uint8Array {
  const payload = encodeCbor({
    v: ENVELOPE_VERSION,
    type: 'agent.call',
    sender: identity.keyId,
    sid: newSessionId(),
    seq: 1,
    ts: Date.now(),
    body,
  });
  return wrap(payload, sign(null, payload, identity.privateKey));
}

/** A framework subscribed through the driver on a test sink: its id and every event it is sent. */
export interface DriverFramework {
  readonly frameworkId: string;
  readonly streamId: string;
  readonly events: FrameworkEvent[];
}

/** Subscribes a partition-aware framework on stream `streamId`; asserts the master took it. */
export async function subscribeDriverFramework(
  ctx: MasterContext,
  streamId = 'fw-stream',
): Promise<DriverFramework> {
  const events: FrameworkEvent[] = [];
  ctx.streams.addFramework(streamId, { send: (event) => events.push(event), close() {} });
  const subscribed = await ctx.driver.submit({
    kind: 'subscribe',
    streamId,
    framework: {
      name: 'test',
      role: 'default',
      user: 'u',
      principal: 'p',
      failoverTimeoutMs: 60_000,
      partitionAware: true,
    },
  });
  assert.ok(subscribed.ok && subscribed.value.kind === 'subscribed');
  const frameworkId = subscribed.value.kind === 'subscribed' ? subscribed.value.frameworkId : '';
  return { frameworkId, streamId, events };
}

/** Waits for the framework's first offer and accepts it with `launches`; asserts it is accepted. */
export async function launchOnFirstOffer(
  ctx: MasterContext,
  framework: DriverFramework,
  launches: readonly TaskLaunch[],
): Promise<void> {
  const offers = await until(
    () => framework.events.find((event) => event.type === 'offers'),
    'an offer',
  );
  assert.ok(offers.type === 'offers');
  const accepted = await ctx.driver.submit({
    kind: 'accept',
    frameworkId: framework.frameworkId,
    streamId: framework.streamId,
    offerIds: [offers.offers[0]!.id],
    launches,
  });
  assert.ok(accepted.ok, 'the launches are accepted');
}
