import { assert } from '../../../lib/assert.js';

/**
 * Bounds of the built-in jobs framework (docs/JOBS.md). Every job lives in the master's registry,
 * which is written whole on each change and has a size bound (16 MiB by default), so the number
 * of jobs and the size of each are bounded here, at the edge.
 */
export interface JobsLimits {
  /** Bytes of a POST /api/v1/jobs body. */
  readonly requestBytesMax: number;
  /** Bytes of a job's spec (its JSON) as kept in the registry until the job ends. */
  readonly specBytesMax: number;
  /** Jobs queued, placed or running at once; more are refused with 429. */
  readonly activeJobsMax: number;
  /** Ended jobs remembered (compacted) for GET and `wasmos tasks`; the oldest are forgotten. */
  readonly endedJobsKeptMax: number;
  /** Jobs in one GET /api/v1/jobs answer. */
  readonly listedJobsMax: number;
  /** Queued jobs whose waiting reason is worked out per listing (each costs a pass over agents). */
  readonly explainedJobsMax: number;
  /** cpus one job may ask for. */
  readonly cpusMax: number;
  /** mem (MiB) one job may ask for. */
  readonly memMiBMax: number;
  /** disk (MiB) one job may ask for. */
  readonly diskMiBMax: number;
  /** Attribute constraints on one job. */
  readonly attributesMax: number;
}

export interface JobsTimings {
  /** Offers with nothing to place are refused for this long (REVIVE on a new job clears it). */
  readonly declineRefuseMs: number;
  /** Running jobs are reconciled this often, so a task whose agent vanished is not stuck. */
  readonly reconcileIntervalMs: number;
  /** Wait before subscribing again after the framework's stream closed. */
  readonly resubscribeDelayMs: number;
}

export const DEFAULT_JOBS_LIMITS: JobsLimits = {
  requestBytesMax: 64 * 1024,
  specBytesMax: 8 * 1024,
  activeJobsMax: 1000,
  endedJobsKeptMax: 1000,
  listedJobsMax: 1000,
  explainedJobsMax: 100,
  cpusMax: 1024,
  memMiBMax: 1024 * 1024,
  diskMiBMax: 16 * 1024 * 1024,
  attributesMax: 16,
};

export const DEFAULT_JOBS_TIMINGS: JobsTimings = {
  declineRefuseMs: 5_000,
  reconcileIntervalMs: 60_000,
  resubscribeDelayMs: 1_000,
};

/** Relationships the limits must keep; checked when the framework starts. */
export function checkJobsLimits(limits: JobsLimits, coreJobsMax: number): void {
  assert(limits.activeJobsMax > 0, 'activeJobsMax must be positive');
  assert(limits.endedJobsKeptMax >= 0, 'endedJobsKeptMax must not be negative');
  assert(
    limits.activeJobsMax + limits.endedJobsKeptMax <= coreJobsMax,
    'active plus kept jobs must fit the core jobsMax',
  );
  assert(limits.specBytesMax <= limits.requestBytesMax, 'a spec fits in a request');
  assert(limits.listedJobsMax > 0, 'listedJobsMax must be positive');
  // The registry holds every active spec: keep the worst case well under its 16 MiB default.
  assert(
    limits.activeJobsMax * limits.specBytesMax <= 12 * 1024 * 1024,
    'active job specs must fit in the registry',
  );
}

checkJobsLimits(DEFAULT_JOBS_LIMITS, 10_000);
