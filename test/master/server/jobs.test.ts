import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/log.js';
import type { AgentMessage, AgentStatusUpdate } from '../../../master/core/messages.js';
import { Resources } from '../../../master/core/resources.js';
import type { TaskState } from '../../../master/core/tasks.js';
import { FileRegistryStore } from '../../../master/registry/file-store.js';
import { MasterDriver } from '../../../master/server/driver.js';
import { JobsFramework, type JobView } from '../../../master/server/jobs/framework.js';
import { parseJobRequest } from '../../../master/server/jobs/spec.js';
import { DEFAULT_JOBS_LIMITS } from '../../../master/server/jobs/limits.js';
import { StreamTable } from '../../../master/server/streams.js';
import type { TaskInfo } from '../../../protocol/index.js';

const log = createLogger('test', { level: 'error' });
const DIGEST = `sha256:${'cd'.repeat(32)}`;

async function until<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every term a test started, stopped when it ends (also when it fails). */
const started: Array<{ stop(): void }> = [];

/** A master term: driver on a file registry, stream table, jobs framework. */
async function startTerm(workDir: string) {
  const begun = await MasterDriver.start({
    core: {
      masterId: `m${Math.floor(Math.random() * 1e9)}`,
      seed: 7,
      timings: { allocationIntervalMs: 50 },
    },
    store: new FileRegistryStore(workDir),
    clock: systemClock,
    log,
  });
  assert.ok(begun.ok, begun.ok ? '' : begun.error);
  const driver = begun.value;
  const streams = new StreamTable();
  driver.attach(streams);
  const jobs = await JobsFramework.start({
    driver,
    streams,
    clock: systemClock,
    log,
    timings: { declineRefuseMs: 200, resubscribeDelayMs: 50 },
  });
  const term = {
    driver,
    streams,
    jobs,
    stop() {
      driver.stop();
      streams.closeAll();
    },
  };
  started.push(term);
  return term;
}

type Term = Awaited<ReturnType<typeof startTerm>>;

/** An agent played through the driver's real agent inputs; it records what the master sends. */
class SimulatedAgent {
  readonly messages: AgentMessage[] = [];
  private sequence = 0;
  constructor(
    readonly term: Term,
    readonly agentId: string,
    readonly keyId: string,
  ) {}

  static async register(
    term: Term,
    keyId: string,
    spec: { cpus: number; runtimes?: ('wasm' | 'linux')[]; attributes?: Record<string, string> },
  ): Promise<SimulatedAgent> {
    const reply = await term.driver.submit({
      kind: 'registerAgent',
      keyId,
      agent: {
        hostname: `host-${keyId}`,
        resources: Resources.of({ cpus: spec.cpus, mem: 4096 }),
        runtimes: spec.runtimes ?? ['wasm'],
        attributes: spec.attributes ?? {},
      },
    });
    assert.ok(reply.ok && reply.value.kind === 'agentRegistered');
    const agent = new SimulatedAgent(term, reply.value.agentId, keyId);
    term.streams.setAgent(agent.agentId, {
      send: (message) => agent.messages.push(message),
      close: () => undefined,
    });
    return agent;
  }

  launched(): Array<Extract<AgentMessage, { type: 'launch' }>> {
    return this.messages.filter(
      (message): message is Extract<AgentMessage, { type: 'launch' }> => message.type === 'launch',
    );
  }

  acknowledged(taskId: string): string[] {
    return this.messages.flatMap((message) =>
      message.type === 'acknowledgeUpdate' && message.taskId === taskId ? [message.uuid] : [],
    );
  }

  async update(
    frameworkId: string,
    taskId: string,
    state: TaskState,
    extra: Partial<AgentStatusUpdate> = {},
  ): Promise<string> {
    const uuid = Buffer.from(`u-${this.agentId}-${++this.sequence}`).toString('base64');
    const reply = await this.term.driver.submit({
      kind: 'statusUpdate',
      keyId: this.keyId,
      agentId: this.agentId,
      update: {
        frameworkId,
        taskId,
        state,
        uuid,
        source: 'SOURCE_EXECUTOR',
        timestampMs: Date.now(),
        ...extra,
      },
    });
    assert.ok(reply.ok, reply.ok ? '' : JSON.stringify(reply.error));
    return uuid;
  }
}

function wasmJob(extra: Record<string, unknown> = {}) {
  const spec = parseJobRequest({ wasm: { digest: DIGEST }, ...extra }, DEFAULT_JOBS_LIMITS);
  assert.ok(spec.ok, spec.ok ? '' : spec.error);
  return spec.value;
}

async function submitted(term: Term, extra: Record<string, unknown> = {}): Promise<JobView> {
  const result = await term.jobs.submit(wasmJob(extra));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.value;
}

async function withWorkDir(body: (workDir: string) => Promise<void>): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'wasmos-jobs-'));
  try {
    await body(workDir);
  } finally {
    for (const term of started.splice(0)) term.stop();
    // A registry write in flight at stop may still land: retry until the directory is gone.
    await rm(workDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  }
}

test('a job is placed, runs, ends with its result, and each update is acknowledged after it is kept', () =>
  withWorkDir(async (workDir) => {
    const term = await startTerm(workDir);
    const agent = await SimulatedAgent.register(term, 'key-a', { cpus: 1 });
    const job = await submitted(term, { resources: { cpus: 0.5, mem: 128 } });
    // The answer comes once the job is durable; by then it may already be placed.
    assert.ok(job.state === 'queued' || job.state === 'placed', job.state);
    const launch = await until(() => agent.launched()[0], 'the launch');
    assert.is(launch.taskId, job.id);
    const payload = launch.payload as TaskInfo;
    assert.is(payload.wasm?.digest, DIGEST);
    assert.is(payload.agent_id.value, agent.agentId);
    const placed = term.jobs.get(job.id);
    assert.is(placed?.state, 'placed');
    assert.is(placed?.agentId, agent.agentId);
    assert.is(placed?.hostname, 'host-key-a');

    const frameworkId = launch.frameworkId;
    const runningUuid = await agent.update(frameworkId, job.id, 'TASK_RUNNING');
    await until(() => agent.acknowledged(job.id).includes(runningUuid), 'RUNNING acknowledged');
    assert.is(term.jobs.get(job.id)?.state, 'running');
    const endUuid = await agent.update(frameworkId, job.id, 'TASK_FAILED', {
      exitCode: 7,
      reason: 'REASON_FUEL_EXHAUSTED',
      message: 'fuel exhausted',
      fuelConsumed: 1234,
      peakMemoryBytes: 65536,
      durationMs: 12,
    });
    await until(() => agent.acknowledged(job.id).includes(endUuid), 'FAILED acknowledged');
    const ended = term.jobs.get(job.id);
    assert.is(ended?.state, 'failed');
    assert.is(ended?.exitCode, 7);
    assert.is(ended?.reason, 'REASON_FUEL_EXHAUSTED');
    assert.is(ended?.fuelConsumed, 1234);
    assert.is(ended?.peakMemoryBytes, 65536);
    // Acknowledged only after the registry holds it.
    const stored = term.driver.view().jobs.get(job.id) as { state: string };
    assert.is(stored.state, 'failed');
    term.stop();
  }));

test('many jobs on two agents: each launched once, never more than an agent holds', () =>
  withWorkDir(async (workDir) => {
    const term = await startTerm(workDir);
    const agents = [
      await SimulatedAgent.register(term, 'key-a', { cpus: 1 }),
      await SimulatedAgent.register(term, 'key-b', { cpus: 1 }),
    ];
    const ids = await Promise.all(
      Array.from({ length: 60 }, async () => (await submitted(term)).id),
    );
    const finished = new Set<string>();
    while (finished.size < ids.length) {
      for (const agent of agents) {
        const running = agent.launched().filter((launch) => !finished.has(launch.taskId));
        // 1 cpu, 0.1 per job: at most ten at once on each agent.
        assert.ok(running.length <= 10, `${running.length} running on one agent`);
        for (const launch of running) {
          finished.add(launch.taskId);
          await agent.update(launch.frameworkId, launch.taskId, 'TASK_FINISHED', { exitCode: 0 });
        }
      }
      await until(
        () =>
          finished.size === ids.length ||
          agents.some((agent) => agent.launched().some((launch) => !finished.has(launch.taskId))),
        'more launches',
      );
    }
    const launches = agents.flatMap((agent) => agent.launched().map((launch) => launch.taskId));
    assert.is(launches.length, ids.length, 'each job launched exactly once');
    assert.equal(new Set(launches), new Set(ids));
    await until(() => ids.every((id) => term.jobs.get(id)?.state === 'finished'), 'all finished');
    term.stop();
  }));

test('a job no agent can run stays queued and says why', () =>
  withWorkDir(async (workDir) => {
    const term = await startTerm(workDir);
    await SimulatedAgent.register(term, 'key-a', { cpus: 1 });
    const spec = parseJobRequest({ command: { value: 'echo hi' } }, DEFAULT_JOBS_LIMITS);
    assert.ok(spec.ok);
    const linux = await term.jobs.submit(spec.value);
    assert.ok(linux.ok);
    const edge = await submitted(term, { attributes: { zone: 'edge-1' } });
    assert.is(term.jobs.get(linux.value.id)?.waiting?.code, 'runtime_unavailable');
    assert.is(term.jobs.get(edge.id)?.waiting?.code, 'attributes_unmatched');
    // Offers come and go (declined) and the jobs stay queued.
    await until(() => (term.driver.lastPlan?.offers.length ?? 0) > 0, 'an allocation');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(term.jobs.get(linux.value.id)?.state, 'queued');
    assert.is(term.jobs.get(edge.id)?.state, 'queued');
    // An edge agent appears: the edge job runs there.
    const edgeAgent = await SimulatedAgent.register(term, 'key-e', {
      cpus: 1,
      attributes: { zone: 'edge-1' },
    });
    await until(() => edgeAgent.launched()[0]?.taskId === edge.id, 'the edge job placed');
    assert.is(term.jobs.get(linux.value.id)?.state, 'queued');
    term.stop();
  }));

test('killing a queued job ends it at once; killing a placed one asks its agent', () =>
  withWorkDir(async (workDir) => {
    const term = await startTerm(workDir);
    const queued = await submitted(term);
    const killed = await term.jobs.kill(queued.id);
    assert.ok(killed.ok);
    assert.is(killed.value.state, 'killed');
    const agent = await SimulatedAgent.register(term, 'key-a', { cpus: 1 });
    const job = await submitted(term);
    await until(() => agent.launched().find((launch) => launch.taskId === job.id), 'placed');
    assert.is(agent.launched().length, 1, 'the killed job never launched');
    const kill = await term.jobs.kill(job.id);
    assert.ok(kill.ok);
    await until(
      () => agent.messages.find((message) => message.type === 'kill' && message.taskId === job.id),
      'a kill sent to the agent',
    );
    const missing = await term.jobs.kill('job-none');
    assert.ok(!missing.ok && missing.error.code === 'not_found');
    term.stop();
  }));

test('after a master restart the jobs come back and the framework keeps its id', () =>
  withWorkDir(async (workDir) => {
    const first = await startTerm(workDir);
    const agent = await SimulatedAgent.register(first, 'key-a', { cpus: 1 });
    const running = await submitted(first);
    const launch = await until(() => agent.launched()[0], 'the launch');
    const runningUuid = await agent.update(launch.frameworkId, running.id, 'TASK_RUNNING');
    // Acknowledged means kept in the registry.
    await until(() => agent.acknowledged(running.id).includes(runningUuid), 'RUNNING acknowledged');
    const frameworkId = first.jobs.id;
    assert.ok(frameworkId);
    first.stop();
    // The agent left: a job submitted now waits. Written, then the master restarts again.
    const second = await startTerm(workDir);
    const queued = await submitted(second);
    const frameworkIdAfterRestart = second.jobs.id;
    second.stop();
    assert.is(frameworkIdAfterRestart, frameworkId);

    const third = await startTerm(workDir);
    await until(() => third.jobs.isSubscribed, 'resubscribed');
    assert.is(third.jobs.id, frameworkId);
    assert.is(third.jobs.get(running.id)?.state, 'running');
    assert.is(third.jobs.get(queued.id)?.state, 'queued');
    // The agent comes back with its task, which then finishes.
    const back = await third.driver.submit({
      kind: 'reregisterAgent',
      keyId: 'key-a',
      agentId: agent.agentId,
      agent: {
        hostname: 'host-key-a',
        resources: Resources.of({ cpus: 1, mem: 4096 }),
        runtimes: ['wasm'],
        attributes: {},
      },
      tasks: [
        {
          frameworkId,
          taskId: running.id,
          name: 'wasm job',
          state: 'TASK_RUNNING',
          resources: Resources.of({ cpus: 0.1, mem: 64 }),
          runtime: 'wasm',
        },
      ],
    });
    assert.ok(back.ok, back.ok ? '' : JSON.stringify(back.error));
    const again = new SimulatedAgent(third, agent.agentId, 'key-a');
    third.streams.setAgent(agent.agentId, {
      send: (message) => again.messages.push(message),
      close: () => undefined,
    });
    await again.update(frameworkId!, running.id, 'TASK_FINISHED', { exitCode: 0 });
    await until(() => third.jobs.get(running.id)?.state === 'finished', 'finished after restart');
    await until(() => again.launched().some((each) => each.taskId === queued.id), 'queued placed');
    assert.not.ok(
      again.launched().some((each) => each.taskId === running.id),
      'not relaunched',
    );
    third.stop();
  }));

test.run();
