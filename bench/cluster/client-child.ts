/**
 * The submitting side of throughput.ts, in its own process so that the master's CPU time is
 * its own: a signed-CBOR framework (`scheduler`) or a client of the jobs API (`jobs`). Each
 * `run` message is one phase: `tasks` submitted at once (rate 0) or at `rate` per second.
 * Not run by hand.
 */
import { performance } from 'node:perf_hooks';
import { BenchFramework } from './support/framework.js';
import { ParentChannel } from './support/ipc.js';
import { JobsClient } from './support/jobs-client.js';
import { loadIdentity, loadMasterTrust } from './support/keys.js';
import { cpuMs, percentile, waitUntil } from './support/measure.js';

export interface ClientConfig {
  readonly url: string;
  readonly trustDir: string;
  readonly frameworkKeyFile: string;
  readonly api: 'scheduler' | 'jobs';
  readonly digest: string;
  readonly taskCpus: number;
  readonly taskMem: number;
}

export interface PhaseRequest {
  readonly label: string;
  readonly tasks: number;
  /** Submissions per second; 0 submits every task at once. */
  readonly rate: number;
}

export interface PhaseResult {
  readonly label: string;
  readonly tasks: number;
  readonly ended: number;
  readonly failed: number;
  /** First submission to the last task's end (terminal update acknowledged). */
  readonly wallMs: number;
  readonly submitToRunningMs: { p50: number; p99: number; max: number; n: number };
  readonly clientCpuMs: number;
  /** Status updates the submitter saw more than once (resent before their acknowledgement). */
  readonly duplicateUpdates: number;
  /** Offers received and ACCEPT calls made in the phase (scheduler API only). */
  readonly offers: number;
  readonly acceptCalls: number;
  readonly errors: readonly string[];
}

/** Jobs POSTed at once when submitting a whole phase (the rest wait for an answer). */
const JOBS_IN_FLIGHT_MAX = 32;
const PHASE_DEADLINE_MS = 600_000;

const parent = new ParentChannel();
const config = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const wasm = { digest: config.digest };
let framework: BenchFramework | undefined;
if (config.api === 'scheduler') {
  framework = new BenchFramework({
    url: config.url,
    identity: await loadIdentity(config.frameworkKeyFile),
    masterTrust: await loadMasterTrust(config.trustDir),
    taskCpus: config.taskCpus,
    taskMemMiB: config.taskMem,
    wasm,
  });
  await framework.subscribe();
}
const jobs = new JobsClient(config.url, { cpus: config.taskCpus, memMiB: config.taskMem, wasm });

/** Calls `submit(i)` for each task: all at once, or paced at `rate` per second. */
async function pace(
  request: PhaseRequest,
  submit: (index: number) => void | Promise<void>,
): Promise<void> {
  const startedAt = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let index = 0; index < request.tasks; index++) {
    if (request.rate > 0) {
      const dueAt = startedAt + (index * 1000) / request.rate;
      const delay = dueAt - performance.now();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const submitted = Promise.resolve(submit(index));
    inFlight.add(submitted);
    void submitted.finally(() => inFlight.delete(submitted));
    if (inFlight.size >= JOBS_IN_FLIGHT_MAX) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

function latencies(samples: number[]): PhaseResult['submitToRunningMs'] {
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    max: percentile(samples, 1),
    n: samples.length,
  };
}

async function schedulerPhase(bench: BenchFramework, request: PhaseRequest): Promise<PhaseResult> {
  const cpuBefore = cpuMs();
  const failedBefore = bench.failedTasks;
  const duplicatesBefore = bench.duplicateUpdates;
  const offersBefore = bench.offersReceived;
  const acceptsBefore = bench.acceptCalls;
  const ids = Array.from({ length: request.tasks }, (_, index) => `${request.label}-${index}`);
  const startedAt = performance.now();
  await pace(request, (index) => bench.submit(ids[index]!));
  await waitUntil(
    () => ids.every((id) => bench.endedAt.has(id)),
    `every ${request.label} task to end (${bench.progress()})`,
    PHASE_DEADLINE_MS,
  );
  const endedAt = Math.max(...ids.map((id) => bench.endedAt.get(id)!));
  return {
    label: request.label,
    tasks: request.tasks,
    ended: ids.length,
    failed: bench.failedTasks - failedBefore,
    wallMs: endedAt - startedAt,
    submitToRunningMs: latencies(
      ids
        .filter((id) => bench.runningAt.has(id))
        .map((id) => bench.runningAt.get(id)! - bench.submittedAt.get(id)!),
    ),
    clientCpuMs: cpuMs() - cpuBefore,
    duplicateUpdates: bench.duplicateUpdates - duplicatesBefore,
    offers: bench.offersReceived - offersBefore,
    acceptCalls: bench.acceptCalls - acceptsBefore,
    errors: bench.errors.splice(0),
  };
}

async function jobsPhase(request: PhaseRequest): Promise<PhaseResult> {
  const cpuBefore = cpuMs();
  const ids = new Set<string>();
  const errors: string[] = [];
  await pace(request, async (index) => {
    try {
      ids.add(await jobs.submit(`${request.label}-${index}`));
    } catch (error) {
      if (errors.length < 20) errors.push(String(error));
    }
  });
  const done = await jobs.await(ids, PHASE_DEADLINE_MS);
  return {
    label: request.label,
    tasks: request.tasks,
    ended: done.ended,
    failed: done.failed + (request.tasks - ids.size),
    wallMs: done.lastEndedAtMs - done.firstSubmittedAtMs,
    submitToRunningMs: latencies(done.submitToRunningMs),
    clientCpuMs: cpuMs() - cpuBefore,
    duplicateUpdates: 0, // the jobs framework inside the master sees them, not this client
    offers: 0,
    acceptCalls: 0,
    errors: [...errors, ...done.errors],
  };
}

parent.send({ type: 'ready' });
void (async () => {
  for (;;) {
    const message = await parent.receive('run');
    const request = message.request as PhaseRequest;
    const result = framework ? await schedulerPhase(framework, request) : await jobsPhase(request);
    parent.send({ type: 'result', result });
  }
})();
await parent.receive('stop');
framework?.close();
process.exit(0);
