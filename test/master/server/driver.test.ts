import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/log.js';
import type { AgentDelivery, CoreInput, FrameworkDelivery } from '../../../master/core/messages.js';
import { Resources } from '../../../master/core/resources.js';
import { FileRegistryStore, REGISTRY_FILE_NAME } from '../../../master/registry/file-store.js';
import type { RegistryWriteError } from '../../../master/registry/store.js';
import { MasterDriver, type Outlets } from '../../../master/server/driver.js';

const log = createLogger('test', { level: 'error' });

class RecordingOutlets implements Outlets {
  readonly agents: AgentDelivery[] = [];
  readonly frameworks: FrameworkDelivery[] = [];
  readonly closed: string[] = [];
  toAgent(delivery: AgentDelivery): void {
    this.agents.push(delivery);
  }
  toFramework(delivery: FrameworkDelivery): void {
    this.frameworks.push(delivery);
  }
  closeFrameworkStream(_frameworkId: string, streamId: string): void {
    this.closed.push(streamId);
  }
}

async function startDriver(workDir: string, onFatal?: (error: RegistryWriteError) => void) {
  const started = await MasterDriver.start({
    core: {
      masterId: 'master-1',
      seed: 7,
      timings: { allocationIntervalMs: 50 },
      checkInvariants: true,
    },
    store: new FileRegistryStore(workDir),
    clock: systemClock,
    log,
    ...(onFatal ? { onFatal } : {}),
  });
  assert.ok(started.ok, started.ok ? '' : started.error);
  const outlets = new RecordingOutlets();
  started.value.attach(outlets);
  return { driver: started.value, outlets };
}

const registerAgent: CoreInput = {
  kind: 'registerAgent',
  keyId: 'key-a',
  agent: {
    hostname: 'a',
    resources: Resources.of({ cpus: 2, mem: 1024 }),
    runtimes: ['wasm'],
    attributes: {},
  },
};

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function withWorkDir(body: (workDir: string) => Promise<void>): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'wasmos-driver-'));
  try {
    await body(workDir);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

test('a call resolves after its effects are durable, and its messages go out', () =>
  withWorkDir(async (workDir) => {
    const { driver, outlets } = await startDriver(workDir);
    const reply = await driver.submit(registerAgent);
    assert.ok(reply.ok && reply.value.kind === 'agentRegistered');
    assert.equal(outlets.agents[0]?.message.type, 'registered');
    driver.stop();

    // A second master on the same registry recovers the admitted agent.
    const { driver: restarted } = await startDriver(workDir);
    const agents = [...restarted.view().agents.values()];
    assert.equal(agents.length, 1);
    assert.equal(agents[0]?.status, 'recovering');
    restarted.stop();
  }));

test('a refused input comes back at once as a core error and changes nothing', () =>
  withWorkDir(async (workDir) => {
    const { driver } = await startDriver(workDir);
    const reply = await driver.submit({ kind: 'agentHeartbeat', keyId: 'k', agentId: 'nope' });
    assert.ok(!reply.ok && reply.error.kind === 'core');
    assert.equal(driver.view().agents.size, 0);
    driver.stop();
  }));

test('the core timer runs: a subscribed framework gets offers without further calls', () =>
  withWorkDir(async (workDir) => {
    const { driver, outlets } = await startDriver(workDir);
    await driver.submit(registerAgent);
    const subscribed = await driver.submit({
      kind: 'subscribe',
      streamId: 'stream-1',
      framework: {
        name: 'fw',
        role: 'default',
        user: 'u',
        principal: 'p',
        failoverTimeoutMs: 10_000,
        partitionAware: true,
      },
    });
    assert.ok(subscribed.ok && subscribed.value.kind === 'subscribed');
    await until(
      () => outlets.frameworks.some((delivery) => delivery.event.type === 'offers'),
      'an offer',
    );
    const timing = driver.allocationTiming;
    assert.ok(timing.runs >= 1, 'the allocation run that made the offer was timed');
    assert.ok(timing.lastMs > 0 && timing.totalMs >= timing.lastMs);
    driver.stop();
  }));

test('many concurrent calls all settle, in order, with group-committed writes', () =>
  withWorkDir(async (workDir) => {
    const { driver, outlets } = await startDriver(workDir);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        driver.submit({ ...registerAgent, keyId: `key-${index}` } as CoreInput),
      ),
    );
    assert.ok(replies.every((reply) => reply.ok));
    assert.equal(outlets.agents.length, 50);
    assert.equal(driver.view().agents.size, 50);
    driver.stop();
  }));

test('a deposed master (its registry overwritten by another) stops at its next write', () =>
  withWorkDir(async (workDir) => {
    const fatal: RegistryWriteError[] = [];
    const { driver: first } = await startDriver(workDir, (error) => fatal.push(error));
    const { driver: second } = await startDriver(workDir);
    assert.ok((await second.submit(registerAgent)).ok);
    const late = await first.submit({ ...registerAgent, keyId: 'key-b' } as CoreInput);
    assert.ok(!late.ok && late.error.kind === 'persist');
    assert.equal(fatal[0]?.code, 'conflict');
    assert.not.ok(first.isRunning);
    let stopHeard = false;
    first.onStop(() => (stopHeard = true));
    assert.ok(stopHeard, 'a listener added after the stop runs at once');
    const after = await first.submit(registerAgent);
    assert.ok(!after.ok && after.error.kind === 'stopped');
    second.stop();
  }));

test('jobs are written as changes after the registry; compacted; a restart reads them all', () =>
  withWorkDir(async (workDir) => {
    const start = async () => {
      const started = await MasterDriver.start({
        core: { masterId: 'master-1', seed: 7, checkInvariants: true },
        store: new FileRegistryStore(workDir),
        clock: systemClock,
        log,
        // Small, so that these few jobs fill the journal and force whole writes too.
        registryChangesBytesMin: 4096,
      });
      assert.ok(started.ok, started.ok ? '' : started.error);
      return started.value;
    };
    const driver = await start();
    const record = (index: number, state: string) => ({ index, state, pad: 'x'.repeat(100) });
    const wholeWrites = new Set<string>();
    const registryFile = join(workDir, REGISTRY_FILE_NAME);
    for (let index = 0; index < 60; index++) {
      const put = await driver.submit({
        kind: 'putJob',
        jobId: `job-${index}`,
        record: record(index, 'queued'),
      });
      assert.ok(put.ok);
      wholeWrites.add((await readFile(registryFile)).toString('hex'));
    }
    // Changed, deleted, and a change to the rest of the registry, all in one batch.
    const batch = await Promise.all([
      driver.submit({ kind: 'putJob', jobId: 'job-59', record: record(59, 'finished') }),
      driver.submit({ kind: 'deleteJob', jobId: 'job-0' }),
      driver.submit({ kind: 'deleteJob', jobId: 'job-1' }),
      driver.submit(registerAgent),
    ]);
    assert.ok(batch.every((reply) => reply.ok));
    const stored = await new FileRegistryStore(workDir).load();
    assert.ok((stored?.changes ?? []).length > 0, 'the last writes were appended changes');
    // 60 jobs of ~150 bytes outgrow 4 KiB of changes: some writes were whole, most were not.
    assert.ok(wholeWrites.size > 1 && wholeWrites.size < 30, `${wholeWrites.size} whole writes`);
    const agentIds = [...driver.view().agents.keys()];
    driver.stop();

    const restarted = await start();
    const jobs = restarted.view().jobs;
    assert.is(jobs.size, 58);
    assert.not.ok(jobs.has('job-0') || jobs.has('job-1'));
    assert.equal(jobs.get('job-2'), record(2, 'queued'));
    assert.equal(jobs.get('job-59'), record(59, 'finished'));
    assert.equal([...restarted.view().agents.keys()], agentIds);
    restarted.stop();
  }));

test.run();
