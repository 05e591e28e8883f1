/**
 * A pool of worker isolates, one task per worker at a time, with a bounded
 * queue in front. Warm workers are reused; a worker whose task timed out, was
 * killed or crashed is terminated and replaced by a fresh one, so nothing of
 * that task can reach the next.
 */
import { Worker } from 'node:worker_threads';
import { assert } from '../../lib/assert.js';
import type { Logger } from '../../lib/log.js';
import { LruMap } from '../../lib/lru.js';
import { err, ok, type Result } from '../../lib/result.js';
import type { GuestArtifact, GuestSpec } from '../guest.js';
import type { ExecutorLimits } from '../limits.js';
import { ExecutorError, type TaskLimits, type TaskReason, type TaskResult } from '../types.js';
import { PROGRESS_SLOTS } from './context.js';
import type { WorkerSetup } from './messages.js';
import { TaskRun, type ArtifactDelivery } from './task-run.js';

export interface PoolTask {
  readonly artifact: GuestArtifact;
  readonly spec: GuestSpec;
  readonly limits: TaskLimits;
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly task: PoolTask;
  readonly resolve: (result: TaskResult) => void;
  /** performance.now() when it joined the queue: a kill while queued says how long it waited. */
  readonly queuedAtMs: number;
}

interface Slot {
  readonly worker: Worker;
  /** The worker has loaded its code: a task's timeout starts only once it can run. */
  ready: boolean;
  busy: boolean;
  /** The running task's fuel and memory as it last recorded them (WorkerSetup.progress). */
  readonly progress: Float64Array;
  /** The artifact ids the worker holds (WORKER_ARTIFACTS_MAX), least recently used first out. */
  readonly artifacts: LruMap<number, true>;
}

const workerUrl = new URL('./worker.js', import.meta.url);

/**
 * Artifacts a worker keeps between tasks (fewer if ExecutorLimits.preparedEntriesMax is lower).
 * A component's glue is 0.3–1 MB of the worker's heap (workerHeapMb), so a few; one more
 * program in turn on a worker costs a re-send of its artifact, about what every task paid before.
 */
export const WORKER_ARTIFACTS_MAX = 8;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextTaskId = 1;
  /** A number per artifact object (the executor's prepared modules are reused objects). */
  private readonly artifactIds = new WeakMap<GuestArtifact, number>();
  private nextArtifactId = 1;
  private closed = false;

  constructor(
    private readonly limits: ExecutorLimits,
    private readonly logger: Logger,
  ) {}

  get queueLength(): number {
    return this.queue.length;
  }

  get workerCount(): number {
    return this.slots.length;
  }

  run(task: PoolTask): Promise<Result<TaskResult, ExecutorError>> {
    if (this.closed)
      return Promise.resolve(err(new ExecutorError('closed', 'the executor is closed')));
    if (this.queue.length >= this.limits.queueLengthMax) {
      const message = `the task queue is full (${this.limits.queueLengthMax} waiting)`;
      return Promise.resolve(err(new ExecutorError('queue_full', message)));
    }
    return new Promise((resolve) => {
      const pending: Pending = {
        task,
        resolve: (result) => resolve(ok(result)),
        queuedAtMs: performance.now(),
      };
      this.queue.push(pending);
      // Killed while still waiting: leave the queue at once rather than when a worker frees up.
      task.signal?.addEventListener(
        'abort',
        () => {
          const index = this.queue.indexOf(pending);
          if (index < 0) return;
          this.queue.splice(index, 1);
          pending.resolve(notStarted('killed', killedWhileQueued(pending)));
        },
        { once: true },
      );
      this.dispatch();
    });
  }

  /** Starts workers up to workersMax and resolves once each is ready (or gone): no first-task start-up cost. */
  async warm(): Promise<void> {
    if (this.closed) return;
    while (this.slots.length < this.limits.workersMax) this.slots.push(this.spawn());
    const starting = this.slots.filter((slot) => !slot.ready);
    await Promise.all(
      starting.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const onMessage = (message: { type?: string }): void => {
              if (message.type !== 'ready') return;
              slot.worker.off('message', onMessage);
              resolve();
            };
            slot.worker.on('message', onMessage);
            slot.worker.once('exit', () => resolve());
          }),
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.resolve(
        notStarted(
          'killed',
          `the executor closed while the task was waiting for a worker (it never ran)`,
        ),
      );
    }
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.freeSlot();
      if (slot === undefined) return;
      const pending = this.queue.shift()!;
      if (pending.task.signal?.aborted) {
        pending.resolve(notStarted('killed', killedWhileQueued(pending)));
        continue;
      }
      this.start(slot, pending);
    }
  }

  private freeSlot(): Slot | undefined {
    const idle = this.slots.find((slot) => slot.ready && !slot.busy);
    if (idle !== undefined) return idle;
    const starting = this.slots.some((slot) => !slot.ready);
    if (!starting && this.slots.length < this.limits.workersMax) this.slots.push(this.spawn());
    return undefined;
  }

  private spawn(): Slot {
    const setup: WorkerSetup = {
      progress: new SharedArrayBuffer(PROGRESS_SLOTS * Float64Array.BYTES_PER_ELEMENT),
    };
    const worker = new Worker(workerUrl, {
      workerData: setup,
      resourceLimits: {
        maxOldGenerationSizeMb: this.limits.workerHeapMb,
        stackSizeMb: this.limits.workerStackMb,
      },
      // The guest's environment comes from its spec; the worker gets none of ours.
      env: {},
      // Node closes the raw descriptors a worker opened when it exits (a terminated task's files).
      trackUnmanagedFds: true,
      execArgv: [],
    });
    const slot: Slot = {
      worker,
      ready: false,
      busy: false,
      progress: new Float64Array(setup.progress),
      artifacts: new LruMap(Math.min(WORKER_ARTIFACTS_MAX, this.limits.preparedEntriesMax)),
    };
    const onReady = (message: { type?: string }): void => {
      if (message.type !== 'ready') return;
      worker.off('message', onReady);
      slot.ready = true;
      worker.unref();
      this.dispatch();
    };
    worker.on('message', onReady);
    // A worker failing while idle (or starting) is dropped; one failing in a task is handled by it.
    worker.on('error', (error) => this.logger.warn('worker error', { error: error.message }));
    worker.once('exit', (code) => {
      const index = this.slots.indexOf(slot);
      if (index >= 0 && !slot.busy) this.slots.splice(index, 1);
      if (this.closed) return;
      if (!slot.ready) {
        // A worker that cannot even start would fail every task: say so instead of respawning forever.
        for (const pending of this.queue.splice(0)) {
          pending.resolve(
            notStarted('instantiation_failed', `the worker failed to start (exit ${code})`),
          );
        }
        return;
      }
      this.dispatch();
    });
    return slot;
  }

  /** Takes a slot out of the pool for good: its worker saw something a next task must not. */
  private retire(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    void slot.worker.terminate();
  }

  private start(slot: Slot, pending: Pending): void {
    assert(!slot.busy, 'a task starts only on an idle worker');
    slot.busy = true;
    slot.worker.ref();
    const settle = (result: TaskResult, workerHealthy: boolean): void => {
      if (workerHealthy) {
        slot.busy = false;
        slot.worker.unref();
      } else {
        this.retire(slot);
      }
      pending.resolve(result);
      this.dispatch();
    };
    const run = new TaskRun(
      this.nextTaskId++,
      slot.worker,
      slot.progress,
      this.deliveryOf(slot, pending.task.artifact),
      pending.task,
      this.limits.workerHeapMb,
      this.limits.fuelSliceUnits,
      this.logger,
      settle,
    );
    run.start();
  }

  /** What the run message says of its artifact: the whole of it only if this worker lacks it. */
  private deliveryOf(slot: Slot, artifact: GuestArtifact): ArtifactDelivery {
    let artifactId = this.artifactIds.get(artifact);
    if (artifactId === undefined) {
      artifactId = this.nextArtifactId++;
      this.artifactIds.set(artifact, artifactId);
    }
    if (slot.artifacts.get(artifactId) !== undefined) return { artifactId, forget: [] };
    const evicted = slot.artifacts.set(artifactId, true);
    return { artifactId, artifact, forget: evicted === undefined ? [] : [evicted[0]] };
  }
}

function killedWhileQueued(pending: Pending): string {
  const waitedMs = Math.round(performance.now() - pending.queuedAtMs);
  return `killed while waiting for a worker, after ${waitedMs} ms in the queue (it never ran)`;
}

function notStarted(reason: TaskReason, message: string): TaskResult {
  return {
    exitCode: null,
    reason,
    message,
    fuelConsumed: 0,
    peakMemoryBytes: 0,
    durationMs: 0,
    stdout: new Uint8Array(0),
    stderr: new Uint8Array(0),
    stdoutTruncated: false,
    stderrTruncated: false,
  };
}
