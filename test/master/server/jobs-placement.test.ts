import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resources } from '../../../master/core/resources.js';
import { DEFAULT_JOBS_LIMITS } from '../../../master/server/jobs/limits.js';
import {
  explainWaiting,
  placeJobs,
  type AgentForExplanation,
  type Placeable,
  type PlacementOffer,
} from '../../../master/server/jobs/placement.js';
import {
  applyTaskStatus,
  decodeJob,
  encodeJob,
  JOB_LAUNCH_ATTEMPTS_MAX,
  newJob,
  placeJob,
} from '../../../master/server/jobs/record.js';
import { parseJobRequest, taskInfoOf } from '../../../master/server/jobs/spec.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const job = (id: string, spec: Partial<Placeable> = {}): Placeable => ({
  id,
  runtime: 'wasm',
  resources: Resources.of({ cpus: 0.1, mem: 64 }),
  attributes: {},
  ...spec,
});

const offer = (id: string, spec: Partial<PlacementOffer> = {}): PlacementOffer => ({
  id,
  agentId: `agent-${id}`,
  resources: Resources.of({ cpus: 1, mem: 1024 }),
  runtimes: ['wasm'],
  attributes: {},
  ...spec,
});

test('jobs spread over offers and never exceed what an offer holds', () => {
  const jobs = Array.from({ length: 25 }, (_, index) => job(`j${index}`));
  const plan = placeJobs(jobs, [offer('a'), offer('b')]);
  const onA = plan.byOffer.get('a') ?? [];
  const onB = plan.byOffer.get('b') ?? [];
  // 1 cpu each, 0.1 per job: ten fit on each, exactly (no float drift), five wait.
  assert.is(onA.length, 10);
  assert.is(onB.length, 10);
  assert.equal(plan.unplaced, ['j20', 'j21', 'j22', 'j23', 'j24']);
  assert.is(new Set([...onA, ...onB]).size, 20);
});

test('a job goes only where its runtime and attribute constraints are met', () => {
  const plan = placeJobs(
    [
      job('linux', { runtime: 'linux' }),
      job('edge', { attributes: { zone: 'edge-1' } }),
      job('any'),
    ],
    [
      offer('core', { attributes: { zone: 'core' } }),
      offer('edge', {
        attributes: { zone: 'edge-1' },
        resources: Resources.of({ cpus: 0.1, mem: 64 }),
      }),
    ],
  );
  assert.equal(plan.byOffer.get('edge'), ['edge']);
  assert.equal(plan.byOffer.get('core'), ['any']);
  assert.equal(plan.unplaced, ['linux']);
});

const agent = (spec: Partial<AgentForExplanation> = {}): AgentForExplanation => ({
  id: 'a',
  hostname: 'host-a',
  active: true,
  total: Resources.of({ cpus: 1, mem: 1024 }),
  runtimes: ['wasm'],
  attributes: {},
  ...spec,
});

test('a waiting job says why, in the order a user would fix it', () => {
  assert.is(explainWaiting(job('j'), []).code, 'no_agents');
  assert.is(explainWaiting(job('j'), [agent({ active: false })]).code, 'no_agents');
  const linux = explainWaiting(job('j', { runtime: 'linux' }), [
    agent({
      unavailableRuntimes: [{ runtime: 'linux', cause: 'unsupported', reason: 'no cgroup v2' }],
    }),
  ]);
  assert.is(linux.code, 'runtime_unavailable');
  assert.match(linux.message, /linux runtime \(host-a: no cgroup v2\)/);
  const edge = explainWaiting(job('j', { attributes: { zone: 'edge-1' } }), [agent()]);
  assert.is(edge.code, 'attributes_unmatched');
  assert.match(edge.message, /zone:edge-1/);
  const large = explainWaiting(job('j', { resources: Resources.of({ cpus: 4 }) }), [agent()]);
  assert.is(large.code, 'too_large');
  assert.is(explainWaiting(job('j'), [agent()]).code, 'waiting_for_resources');
});

test('a job request is validated at the edge and names what is wrong', () => {
  const limits = DEFAULT_JOBS_LIMITS;
  const good = parseJobRequest({ wasm: { digest: DIGEST, args: ['x'] } }, limits);
  assert.ok(good.ok);
  assert.equal(good.value.resources, { cpus: 0.1, mem: 64 });
  assert.is(good.value.runtime, 'wasm');
  const refusals: Array<[unknown, RegExp]> = [
    [{}, /exactly one of/],
    [{ wasm: { digest: DIGEST }, command: { value: 'true' } }, /exactly one of/],
    [{ wasm: { digest: 'sha1:00' } }, /sha256/],
    [{ wasm: { digest: DIGEST }, resources: { cpus: 0 } }, /cpus > 0/],
    [{ wasm: { digest: DIGEST }, resources: { gpus: 1 } }, /gpus|unrecognized/i],
    [{ wasm: { digest: DIGEST }, resources: { cpus: -1 } }, /resources\.cpus/],
    [{ wasm: { digest: DIGEST }, runtime: 'linux' }, /does not match/],
    [{ command: {} }, /command\.value/],
    [{ wasm: { digest: DIGEST, args: ['x'.repeat(4096), 'y'.repeat(4096)] } }, /specBytesMax/],
    [{ wasm: { digest: DIGEST }, attributes: { 'bad name': 'x' } }, /attribute/],
    ['not an object', /object/i],
  ];
  for (const [body, why] of refusals) {
    const parsed = parseJobRequest(body, limits);
    assert.ok(!parsed.ok, `refused: ${JSON.stringify(body).slice(0, 80)}`);
    assert.match(parsed.error, why);
  }
});

test('the launch payload is the task the agent runs', () => {
  const spec = parseJobRequest(
    { command: { value: 'echo hi' }, resources: { cpus: 0.5, mem: 32 } },
    DEFAULT_JOBS_LIMITS,
  );
  assert.ok(spec.ok);
  const info = taskInfoOf('job-1', 'agent-1', spec.value);
  assert.equal(info.task_id, { value: 'job-1' });
  assert.equal(info.agent_id, { value: 'agent-1' });
  assert.equal(info.command, { value: 'echo hi' });
  assert.equal(
    info.resources.map((resource) => [resource.name, resource.scalar?.value]),
    [
      ['cpus', 0.5],
      ['mem', 32],
    ],
  );
});

test('task statuses move a job forward only, and an ended job drops its spec', () => {
  const spec = parseJobRequest({ wasm: { digest: DIGEST } }, DEFAULT_JOBS_LIMITS);
  assert.ok(spec.ok);
  const queued = newJob('job-1', spec.value, 1000);
  const status = (state: 'TASK_RUNNING' | 'TASK_STARTING' | 'TASK_FAILED') => ({
    taskId: 'job-1',
    agentId: 'agent-1',
    state,
    source: 'SOURCE_EXECUTOR' as const,
    timestampMs: 2000,
    ...(state === 'TASK_FAILED'
      ? { exitCode: 3, reason: 'REASON_FUEL_EXHAUSTED' as const, fuelConsumed: 99 }
      : {}),
  });
  const running = applyTaskStatus(queued, status('TASK_RUNNING'), 2000);
  assert.ok(running.changed);
  assert.is(running.job.state, 'running');
  assert.is(running.job.startedAtMs, 2000);
  const late = applyTaskStatus(running.job, status('TASK_STARTING'), 2100);
  assert.not.ok(late.changed);
  assert.is(late.job.state, 'running');
  const failed = applyTaskStatus(running.job, status('TASK_FAILED'), 3000);
  assert.is(failed.job.state, 'failed');
  assert.is(failed.job.exitCode, 3);
  assert.is(failed.job.reason, 'REASON_FUEL_EXHAUSTED');
  assert.is(failed.job.spec, undefined);
  assert.is(failed.job.summary.digest, DIGEST);
  const again = applyTaskStatus(failed.job, status('TASK_RUNNING'), 4000);
  assert.not.ok(again.changed);
});

test('a launch that provably never ran is queued again, a bounded number of times', () => {
  const spec = parseJobRequest({ wasm: { digest: DIGEST } }, DEFAULT_JOBS_LIMITS);
  assert.ok(spec.ok);
  const status = (
    state: 'TASK_DROPPED' | 'TASK_GONE' | 'TASK_LOST',
    reason?: 'REASON_RECONCILIATION',
  ) => ({
    taskId: 'job-1',
    agentId: 'agent-1',
    state,
    source: 'SOURCE_MASTER' as const,
    timestampMs: 2000,
    message: 'task not found on agent agent-1',
    ...(reason ? { reason } : {}),
  });
  let job = placeJob(newJob('job-1', spec.value, 1000), 'agent-1', 'host-1', 1500);
  const gone = applyTaskStatus(job, status('TASK_GONE', 'REASON_RECONCILIATION'), 2000);
  assert.ok(gone.changed);
  assert.is(gone.job.state, 'queued');
  assert.is(gone.job.launchAttempts, 2);
  assert.is(gone.job.agentId, undefined);
  assert.ok(gone.job.spec, 'a requeued job keeps its spec');
  const decoded = decodeJob('job-1', encodeJob(gone.job));
  assert.ok(decoded.ok, 'the attempt count survives the registry');

  // A task that may have run (lost with its agent) is not launched again.
  const lost = applyTaskStatus(job, status('TASK_LOST'), 2000);
  assert.is(lost.job.state, 'lost');
  // Nor is one that was seen running.
  const running = applyTaskStatus(job, { ...status('TASK_DROPPED'), state: 'TASK_RUNNING' }, 1800);
  assert.is(applyTaskStatus(running.job, status('TASK_DROPPED'), 2000).job.state, 'lost');

  for (let attempt = 1; attempt < JOB_LAUNCH_ATTEMPTS_MAX; attempt++) {
    job = applyTaskStatus(job, status('TASK_DROPPED'), 2000).job;
    assert.is(job.state, 'queued');
    job = placeJob(job, 'agent-1', 'host-1', 2500);
  }
  const last = applyTaskStatus(job, status('TASK_DROPPED'), 3000);
  assert.is(last.job.state, 'lost', `after ${JOB_LAUNCH_ATTEMPTS_MAX} launches the job ends`);
});

test('a job record from the registry is checked before it is used', () => {
  const spec = parseJobRequest({ wasm: { digest: DIGEST } }, DEFAULT_JOBS_LIMITS);
  assert.ok(spec.ok);
  const record = encodeJob(newJob('job-1', spec.value, 1000));
  assert.ok(decodeJob('job-1', record).ok);
  assert.not.ok(decodeJob('job-2', record).ok, 'stored under another id');
  const tampered = JSON.parse(JSON.stringify(record)) as { summary: { resources: object } };
  tampered.summary.resources = { 'Not A Name': 1 };
  const refused = decodeJob('job-1', tampered);
  assert.ok(!refused.ok);
  assert.match(refused.error, /not valid/);
  const { spec: _spec, ...withoutSpec } = record as Record<string, unknown>;
  assert.not.ok(decodeJob('job-1', withoutSpec).ok, 'a queued job needs its spec');
});

test.run();
