import type { WasmInfo } from '../../../protocol/index.js';

/** What the bench reads of GET /api/v1/jobs (docs/JOBS.md); times are the master's clock. */
interface JobListing {
  readonly id: string;
  readonly state: string;
  readonly submittedAtMs: number;
  readonly startedAtMs?: number;
  readonly endedAtMs?: number;
}

const ENDED = new Set(['finished', 'failed', 'killed', 'error', 'lost']);

export interface JobsPhaseResult {
  /** Jobs that ended, and of those, not `finished`. */
  readonly ended: number;
  readonly failed: number;
  /** submittedAtMs → startedAtMs of each job that ran (the master's stamps). */
  readonly submitToRunningMs: number[];
  /** Master clock (epoch ms) of the first submission and of the last job's end. */
  readonly firstSubmittedAtMs: number;
  readonly lastEndedAtMs: number;
  readonly errors: string[];
}

/**
 * Submits jobs through POST /api/v1/jobs (the built-in jobs framework places them) and learns
 * their fate by listing GET /api/v1/jobs every `pollMs`. The listing is bounded by the jobs API
 * (listedJobsMax, endedJobsKeptMax: 1000 by default), so a phase is at most that many jobs.
 */
export class JobsClient {
  constructor(
    private readonly url: string,
    private readonly job: {
      readonly cpus: number;
      readonly memMiB: number;
      readonly wasm: WasmInfo;
    },
    private readonly pollMs = 100,
  ) {}

  async submit(name: string): Promise<string> {
    const response = await fetch(`${this.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        resources: { cpus: this.job.cpus, mem: this.job.memMiB },
        wasm: this.job.wasm,
      }),
    });
    const text = await response.text();
    if (response.status !== 201)
      throw new Error(`POST /api/v1/jobs answered ${response.status}: ${text}`);
    return (JSON.parse(text) as { id: string }).id;
  }

  /** Waits until every job of `ids` ended (or `deadlineMs` passed) and gathers their times. */
  async await(ids: ReadonlySet<string>, deadlineMs: number): Promise<JobsPhaseResult> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      // Newest first: the phase's jobs are the newest, so listing only as many keeps the
      // master's share of the polling small.
      const response = await fetch(`${this.url}/api/v1/jobs?limit=${Math.max(1, ids.size)}`);
      const { jobs } = (await response.json()) as { jobs: JobListing[] };
      const ours = jobs.filter((job) => ids.has(job.id));
      const ended = ours.filter((job) => ENDED.has(job.state));
      if (ended.length === ids.size || Date.now() > deadline) {
        const errors =
          ended.length === ids.size ? [] : [`${ids.size - ended.length} jobs had not ended`];
        return {
          ended: ended.length,
          failed: ended.filter((job) => job.state !== 'finished').length,
          submitToRunningMs: ours
            .filter((job) => job.startedAtMs !== undefined)
            .map((job) => job.startedAtMs! - job.submittedAtMs),
          firstSubmittedAtMs: Math.min(...ours.map((job) => job.submittedAtMs)),
          lastEndedAtMs: Math.max(...ended.map((job) => job.endedAtMs ?? 0)),
          errors,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
