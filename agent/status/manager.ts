import { randomBytes } from 'node:crypto';
import { assert } from '../../lib/assert.js';
import type { Cancel, Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { TaskStatus } from '../../protocol/messages/task.js';
import {
  isTerminalStatus,
  UpdateQueues,
  type AckOutcome,
  type RetryPolicy,
  type StatusUpdate,
} from '../core/updates.js';
import { appendAck, appendUpdate, readUpdateLogs, removeLog, updateLogFile } from './update-log.js';

/** Delivers one update to the master; rejects (or resolves false) when it did not get there. */
export interface UpdateTransport {
  send(update: StatusUpdate): Promise<boolean>;
}

export interface StatusUpdateManagerOptions {
  /** Where the per-task update logs live (created if missing). */
  readonly dir: string;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  readonly updatesPerTaskMax: number;
  readonly logger: Logger;
}

export type UpdateOutcome = 'queued' | 'full' | 'after_terminal';

/** A fresh status update uuid: 16 random bytes, base64 (as Mesos's UUID bytes travel in JSON). */
export function newStatusUuid(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The status update manager (the shell around UpdateQueues): every update is written to its
 * task's log and fsynced before it is first sent; the front update of each task is sent, and
 * re-sent with backoff, until its acknowledgement arrives; after a restart `open` rebuilds the
 * queues from the logs, so unacknowledged updates are sent again.
 */
export class StatusUpdateManager {
  private transport: UpdateTransport | undefined;
  private timer: Cancel | undefined;
  private timerDueMs = Number.POSITIVE_INFINITY;
  private closed = false;
  /** Disk writes per task run one after another, so the log's order is the queue's order. */
  private readonly writes = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly options: StatusUpdateManagerOptions,
    private readonly queues: UpdateQueues,
  ) {}

  static async open(options: StatusUpdateManagerOptions): Promise<StatusUpdateManager> {
    const queues = new UpdateQueues(options.retry, options.updatesPerTaskMax);
    const manager = new StatusUpdateManager(options, queues);
    const nowMs = options.clock.nowMs();
    for (const stream of await readUpdateLogs(options.dir, options.logger)) {
      if (stream.pending.length === 0 && isTerminalStatus(stream.latest.status)) {
        await removeLog(stream.file); // acknowledged through the end: nothing left to do
        continue;
      }
      queues.restore(stream.latest, stream.pending, nowMs);
    }
    return manager;
  }

  /** Starts (or resumes, after a reconnect) delivery through `transport`; everything due goes now. */
  connected(transport: UpdateTransport): void {
    this.transport = transport;
    this.queues.resetRetries(this.options.clock.nowMs());
    this.pump();
  }

  disconnected(): void {
    this.transport = undefined;
  }

  /** Checkpoints `status` (which carries its uuid), then queues it for delivery. */
  async update(frameworkId: string, status: TaskStatus): Promise<UpdateOutcome> {
    assert(!this.closed, 'no updates after close');
    assert(status.uuid !== undefined, 'a status update carries a uuid');
    const update: StatusUpdate = {
      frameworkId,
      taskId: status.task_id.value,
      uuid: status.uuid,
      status,
    };
    const outcome = await this.serial(update, async () => {
      const admitted = this.queues.admit(frameworkId, update.taskId);
      if (admitted !== 'ok') return admitted;
      await appendUpdate(this.logFile(update), update);
      const added = this.queues.add(update, this.options.clock.nowMs());
      assert(added === 'queued', 'an update checked for room is queued');
      return added;
    });
    if (outcome === 'queued') this.pump();
    return outcome;
  }

  /** The framework's acknowledgement (forwarded by the master): the next update of the task may go. */
  async acknowledge(frameworkId: string, taskId: string, uuid: string): Promise<AckOutcome> {
    const key = { frameworkId, taskId };
    return this.serial(key, async () => {
      const outcome = this.queues.acknowledge(frameworkId, taskId, uuid);
      if (outcome.kind !== 'acknowledged') return outcome;
      const file = this.logFile(key);
      if (outcome.streamDone) await removeLog(file);
      else await appendAck(file, uuid);
      this.pump();
      return outcome;
    });
  }

  unacknowledged(): StatusUpdate[] {
    return this.queues.unacknowledged();
  }

  latest(frameworkId: string, taskId: string): StatusUpdate | undefined {
    return this.queues.latest(frameworkId, taskId);
  }

  /** Forgets a running task's stream once nothing of it is unacknowledged (see UpdateQueues.forget). */
  forget(frameworkId: string, taskId: string): void {
    this.queues.forget(frameworkId, taskId);
  }

  /** Resolves when every send started so far has settled (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.writes.size > 0) {
      await Promise.allSettled([...this.inFlight, ...this.writes.values()]);
    }
  }

  close(): void {
    this.closed = true;
    this.timer?.();
    this.timer = undefined;
  }

  private logFile(key: { frameworkId: string; taskId: string }): string {
    return updateLogFile(this.options.dir, key.frameworkId, key.taskId);
  }

  private async serial<T>(
    key: { frameworkId: string; taskId: string },
    work: () => Promise<T>,
  ): Promise<T> {
    const file = this.logFile(key);
    const previous = this.writes.get(file) ?? Promise.resolve();
    const result = previous.then(work);
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    this.writes.set(file, done);
    void done.then(() => {
      if (this.writes.get(file) === done) this.writes.delete(file);
    });
    return result;
  }

  /** Sends every due front update, then sleeps until the next one is due. */
  private pump(): void {
    if (this.closed) return;
    const transport = this.transport;
    const nowMs = this.options.clock.nowMs();
    if (transport) {
      for (const update of this.queues.due(nowMs)) {
        this.queues.sent(update, nowMs);
        this.track(this.deliver(transport, update));
      }
    }
    this.schedule();
  }

  private async deliver(transport: UpdateTransport, update: StatusUpdate): Promise<void> {
    try {
      const delivered = await transport.send(update);
      if (!delivered)
        this.options.logger.debug('status update not delivered; will retry', {
          task: update.taskId,
        });
    } catch (error) {
      this.options.logger.debug('status update send failed; will retry', {
        task: update.taskId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private schedule(): void {
    const dueMs = this.queues.nextDueMs();
    if (dueMs === undefined || !this.transport) return;
    if (this.timer && this.timerDueMs <= dueMs) return;
    this.timer?.();
    const nowMs = this.options.clock.nowMs();
    this.timerDueMs = dueMs;
    this.timer = this.options.clock.after(Math.max(0, dueMs - nowMs), () => {
      this.timer = undefined;
      this.timerDueMs = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }
}
