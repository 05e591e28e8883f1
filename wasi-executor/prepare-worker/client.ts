/**
 * The prepare worker as the executor uses it: a single worker thread, started
 * on the first prepare and reused, that runs the CPU-heavy synchronous part
 * of preparing (loading jco and compiling its wasm-tools, transpile,
 * instrumentation) so the caller's event loop keeps running (heartbeats,
 * status updates, other tasks' output).
 *
 * One prepare at a time (PREPARE_WORKERS = 1): the work is CPU-bound and the
 * callers are a handful per process (the executor already merges prepares of
 * the same digest); more threads would only compete for the same cores and
 * each pay for loading jco. Others wait in order.
 *
 * A worker that dies while preparing (out of heap, a crash in jco, past
 * prepareTimeoutMs) ends that prepare with `prepare_failed` and nothing else:
 * the next prepare starts a fresh worker.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';
import { ExecutorError } from '../types.js';
import type {
  PrepareKind,
  PrepareReply,
  PrepareRequest,
  PreparedData,
  PrepareTimes,
} from './messages.js';

/** Worker threads that prepare at once (see above). */
export const PREPARE_WORKERS = 1;

export interface PrepareWorkerLimits {
  /** V8 heap of the prepare worker (jco's wasm-tools memory is outside it). */
  readonly prepareHeapMb: number;
  /** Wall clock of one prepare in the worker; past it the worker is terminated. */
  readonly prepareTimeoutMs: number;
  readonly moduleBytesMax: number;
}

export interface PrepareJob {
  readonly kind: PrepareKind;
  readonly bytes: Uint8Array;
  readonly instrument: boolean;
  /** > 1 only to warm the instrumenter. */
  readonly passes?: number;
}

export interface PrepareOutcome {
  readonly data: PreparedData;
  readonly times: PrepareTimes;
}

export interface PrepareRefusal {
  readonly error: ExecutorError;
  readonly times: PrepareTimes;
  /** The instrumenter refused a core module: the engine's message says best why. */
  readonly askEngine: boolean;
}

interface Queued {
  readonly request: PrepareRequest;
  readonly resolve: (result: Result<PrepareOutcome, PrepareRefusal>) => void;
}

const workerUrl = new URL('./worker.js', import.meta.url);
const noTimes: PrepareTimes = { transpileMs: 0, instrumentMs: 0 };

export class PrepareWorker {
  private worker: Worker | undefined;
  private running: Queued | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Queued[] = [];
  private nextJobId = 1;
  private closed = false;

  constructor(
    private readonly limits: PrepareWorkerLimits,
    private readonly logger: Logger,
  ) {}

  /** Worker threads started so far that are still alive (0 or 1). */
  get threadCount(): number {
    return this.worker === undefined ? 0 : 1;
  }

  /** Starts the worker ahead of the first prepare (it loads the instrumenter, not jco). */
  start(): void {
    if (this.closed || this.worker !== undefined) return;
    this.spawn().unref();
  }

  prepare(job: PrepareJob): Promise<Result<PrepareOutcome, PrepareRefusal>> {
    if (this.closed) {
      return Promise.resolve(
        err(refusal(new ExecutorError('closed', 'the executor is closed'), false)),
      );
    }
    return new Promise((resolve) => {
      const request: PrepareRequest = {
        type: 'prepare',
        jobId: this.nextJobId++,
        kind: job.kind,
        bytes: job.bytes,
        instrument: job.instrument,
        moduleBytesMax: this.limits.moduleBytesMax,
        passes: job.passes ?? 1,
      };
      this.queue.push({ request, resolve });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const closedError = refusal(new ExecutorError('closed', 'the executor is closed'), false);
    for (const queued of this.queue.splice(0)) queued.resolve(err(closedError));
    this.finish(err(closedError));
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private next(): void {
    if (this.running !== undefined || this.closed) return;
    const queued = this.queue.shift();
    if (queued === undefined) return;
    this.running = queued;
    const worker = this.worker ?? this.spawn();
    worker.ref();
    this.timer = setTimeout(() => this.timedOut(worker), this.limits.prepareTimeoutMs);
    // Copied, not transferred: the caller keeps its bytes (digest, the engine's messages).
    worker.postMessage(queued.request);
  }

  private spawn(): Worker {
    const worker = new Worker(workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.limits.prepareHeapMb },
      env: {},
      execArgv: [],
    });
    this.worker = worker;
    worker.on('message', (reply: PrepareReply) => {
      if (reply.jobId !== this.running?.request.jobId) return;
      if (reply.type === 'prepared') {
        this.finish(ok({ data: reply.data, times: reply.times }));
      } else {
        const error = new ExecutorError(reply.code, reply.message, reply.details);
        this.finish(err({ error, times: reply.times, askEngine: reply.askEngine === true }));
      }
    });
    worker.on('error', (error) => {
      this.logger.warn('the prepare worker failed', { error: error.message });
      this.lost(worker, `the prepare worker failed: ${error.message}`);
    });
    worker.once('exit', (code) => this.lost(worker, `the prepare worker exited (code ${code})`));
    return worker;
  }

  /** The worker is gone: the prepare it was running fails, and the next one gets a new worker. */
  private lost(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    void worker.terminate();
    this.finish(
      err(
        refusal(
          new ExecutorError('prepare_failed', `preparing did not complete: ${message}`),
          false,
        ),
      ),
    );
  }

  private timedOut(worker: Worker): void {
    this.lost(
      worker,
      `preparing took longer than prepareTimeoutMs (${this.limits.prepareTimeoutMs} ms)`,
    );
  }

  private finish(result: Result<PrepareOutcome, PrepareRefusal>): void {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    // Idle, the worker does not keep the process alive.
    this.worker?.unref();
    running.resolve(result);
    this.next();
  }
}

function refusal(error: ExecutorError, askEngine: boolean): PrepareRefusal {
  return { error, times: noTimes, askEngine };
}
