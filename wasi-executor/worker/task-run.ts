/**
 * One task on one worker, seen from the main thread: sends it, collects its
 * streamed output, and settles it exactly once, from the worker's verdict or
 * from outside (timeout, kill, a failing worker). A task settled from outside
 * leaves its worker unhealthy: the pool replaces it.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../../lib/log.js';
import { joinBytes } from '../../lib/bytes.js';
import type { TaskReason, TaskResult } from '../types.js';
import type { GuestArtifact } from '../guest.js';
import { PROGRESS_FUEL_CONSUMED, PROGRESS_MEMORY_BYTES } from './context.js';
import type { DoneMessage, OutputChunk, RunMessage, WorkerMessage } from './messages.js';
import type { PoolTask } from './pool.js';

type Outcome = Omit<DoneMessage, 'type' | 'taskId' | 'output'>;

/** How the run message refers to its artifact (the pool knows what the worker holds). */
export interface ArtifactDelivery {
  readonly artifactId: number;
  /** Sent only to a worker that does not hold it yet. */
  readonly artifact?: GuestArtifact;
  readonly forget: readonly number[];
}

export class TaskRun {
  private readonly output = { stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] };
  private readonly truncated = { stdout: false, stderr: false };
  private startedMs = 0;
  private settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly taskId: number,
    private readonly worker: Worker,
    /** The worker's progress array (WorkerSetup.progress): zeroed here before the task starts. */
    private readonly progress: Float64Array,
    private readonly delivery: ArtifactDelivery,
    private readonly task: PoolTask,
    private readonly workerHeapMb: number,
    private readonly fuelSliceUnits: number,
    private readonly logger: Logger,
    private readonly settle: (result: TaskResult, workerHealthy: boolean) => void,
  ) {}

  start(): void {
    this.startedMs = performance.now();
    this.worker.on('message', this.onMessage);
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
    this.task.signal?.addEventListener('abort', this.onAbort, { once: true });
    const timeoutMs = this.task.limits.timeoutMs;
    this.timer = setTimeout(
      () => this.endFromOutside('timeout', `timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    this.progress.fill(0);
    const message: RunMessage = {
      type: 'run',
      taskId: this.taskId,
      artifactId: this.delivery.artifactId,
      ...(this.delivery.artifact ? { artifact: this.delivery.artifact } : {}),
      forget: this.delivery.forget,
      spec: this.task.spec,
      limits: this.task.limits,
      fuelSliceUnits: this.fuelSliceUnits,
    };
    this.worker.postMessage(message);
  }

  private readonly onMessage = (message: WorkerMessage): void => {
    if (message.taskId !== this.taskId) return;
    if (message.type === 'done') {
      for (const chunk of message.output) this.take(chunk);
      this.finish(message, true);
      return;
    }
    this.take(message);
  };

  private take(chunk: OutputChunk): void {
    if (chunk.truncated) this.truncated[chunk.stream] = true;
    if (chunk.bytes.length === 0) return;
    this.output[chunk.stream].push(chunk.bytes);
    (chunk.stream === 'stdout' ? this.task.onStdout : this.task.onStderr)?.(chunk.bytes);
  }

  private readonly onError = (error: Error): void => {
    const code = (error as { code?: string }).code;
    this.logger.warn('worker failed', { code, error: error.message });
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      this.endFromOutside(
        'memory_limit',
        `the worker's heap limit of ${this.workerHeapMb} MB was reached`,
      );
    } else {
      this.endFromOutside('trap', `worker failed: ${error.message}`);
    }
  };

  private readonly onExit = (code: number): void =>
    this.endFromOutside('trap', `worker exited with ${code}`);

  private readonly onAbort = (): void =>
    this.endFromOutside(
      'killed',
      `killed while running, after ${Math.round(performance.now() - this.startedMs)} ms`,
    );

  /**
   * Ended from outside: fuel and memory are what the task last recorded (at
   * its last host call or fuel slice): a lower bound, within one slice.
   */
  private endFromOutside(reason: TaskReason, message: string): void {
    const progress = this.progress;
    const outcome: Outcome = {
      verdict: { reason, exitCode: null, message },
      fuelConsumed: progress[PROGRESS_FUEL_CONSUMED] ?? 0,
      peakMemoryBytes: progress[PROGRESS_MEMORY_BYTES] ?? 0,
      stdoutTruncated: this.truncated.stdout,
      stderrTruncated: this.truncated.stderr,
    };
    this.finish(outcome, false);
  }

  private finish(outcome: Outcome, workerHealthy: boolean): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.task.signal?.removeEventListener('abort', this.onAbort);
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
    const { verdict } = outcome;
    this.settle(
      {
        exitCode: verdict.exitCode,
        reason: verdict.reason,
        message: verdict.message,
        fuelConsumed: outcome.fuelConsumed,
        peakMemoryBytes: outcome.peakMemoryBytes,
        durationMs: performance.now() - this.startedMs,
        stdout: joinBytes(this.output.stdout),
        stderr: joinBytes(this.output.stderr),
        stdoutTruncated: outcome.stdoutTruncated,
        stderrTruncated: outcome.stderrTruncated,
        ...(verdict.handlerOutput ? { handlerOutput: verdict.handlerOutput } : {}),
      },
      workerHealthy,
    );
  }
}
