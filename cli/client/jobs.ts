/** What the CLI reads from the master's jobs and operator APIs (the fields it uses). */

export interface JobAnswer {
  readonly id: string;
  readonly name: string;
  readonly state:
    'queued' | 'placed' | 'running' | 'finished' | 'failed' | 'killed' | 'error' | 'lost';
  readonly taskState?: string;
  readonly frameworkId?: string;
  readonly agentId?: string;
  readonly hostname?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly exitCode?: number;
  readonly fuelConsumed?: number;
  readonly peakMemoryBytes?: number;
  readonly durationMs?: number;
  readonly submittedAtMs: number;
  readonly endedAtMs?: number;
  readonly summary?: { readonly runtime?: 'wasm' | 'linux' };
  readonly waiting?: { readonly code: string; readonly message: string };
}

export interface LogsAnswer {
  readonly offset: number;
  readonly size: number;
  readonly complete: boolean;
  /** base64 */
  readonly data: string;
  readonly error?: string;
}

export const ENDED_STATES: ReadonlySet<JobAnswer['state']> = new Set([
  'finished',
  'failed',
  'killed',
  'error',
  'lost',
]);

export function isEndedJob(job: JobAnswer): boolean {
  return ENDED_STATES.has(job.state);
}
