import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../lib/assert.js';
import type { Cancel, Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { TaskStatus } from '../../protocol/messages/task.js';
import { Journal } from '../checkpoint/journal.js';
import {
  isTerminalStatus,
  streamKey,
  UpdateQueues,
  type AckOutcome,
  type RetryPolicy,
  type StatusUpdate,
} from '../core/updates.js';
import {
  ackRecord,
  JOURNAL_FILE,
  readLegacyUpdateLogs,
  replayJournal,
  streamRecords,
  updateRecord,
  type RecoveredStream,
} from './update-log.js';

/**
 * Delivers updates to the master in one call (no two of one task: only a task's front update is
 * ever sent). Resolves with, for each update, whether the master took it; rejects when the call
 * did not get there. An update not taken is resent when its retry is due.
 */
export interface UpdateTransport {
  send(updates: readonly StatusUpdate[]): Promise<readonly boolean[]>;
}

/** How due updates are grouped into calls (agentLimits.updateBatch*). */
export interface UpdateBatching {
  /** Updates due within this window share a call; 0: those due in the same turn. */
  readonly windowMs: number;
  readonly updatesMax: number;
  /** Estimated bytes (updateBytesEstimate) of one call's updates. */
  readonly bytesMax: number;
}

/** Same turn only, and small calls: for tests that drive the manager with a manual clock. */
export const SAME_TURN_BATCHING: UpdateBatching = {
  windowMs: 0,
  updatesMax: 128,
  bytesMax: 256 * 1024,
};

/**
 * An upper estimate of an update's bytes on the wire, without encoding it: the fixed fields,
 * plus the variable ones that can be large (message, data, labels).
 */
export function updateBytesEstimate(update: StatusUpdate): number {
  const { message, data, labels } = update.status;
  return (
    1024 +
    (message?.length ?? 0) * 4 +
    (data?.length ?? 0) +
    (labels ? JSON.stringify(labels).length * 4 : 0)
  );
}

/** Splits `updates` into calls of at most `updatesMax` updates and about `bytesMax` bytes. */
export function batchesOf(
  updates: readonly StatusUpdate[],
  batching: UpdateBatching,
): StatusUpdate[][] {
  const batches: StatusUpdate[][] = [];
  let current: StatusUpdate[] = [];
  let bytes = 0;
  for (const update of updates) {
    const size = updateBytesEstimate(update);
    if (
      current.length > 0 &&
      (current.length >= batching.updatesMax || bytes + size > batching.bytesMax)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(update);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export interface StatusUpdateManagerOptions {
  /** Where the update journal lives (created if missing). */
  readonly dir: string;
  /** The journal is compacted once it holds this many bytes (agentLimits.journalCompactBytesMin). */
  readonly journalCompactBytesMin: number;
  /**
   * Awaited before a compaction forgets the streams of ended tasks: the agent makes the removal
   * of their task checkpoints durable first, so a crash never leaves a checkpoint of a task
   * whose terminal update is forgotten (which a restart would report terminal again).
   */
  readonly beforeCompact?: () => Promise<void>;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  readonly updatesPerTaskMax: number;
  /** Grouping of due updates into calls (default SAME_TURN_BATCHING). */
  readonly batching?: UpdateBatching;
  readonly logger: Logger;
}

export type UpdateOutcome = 'queued' | 'full' | 'after_terminal';

/**
 * A fresh status update uuid: the 16 bytes of a random (v4) UUID, base64, as Mesos's UUID bytes
 * travel in JSON. randomUUID draws from a pooled buffer, so this costs no call into the random
 * generator per update.
 */
export function newStatusUuid(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}

/**
 * The status update manager (the shell around UpdateQueues): every update is written to the
 * update journal and fsynced before it is first sent (updates queued together share one
 * fdatasync); the front update of each task is sent, and re-sent with backoff, until its
 * acknowledgement arrives; after a restart `open` rebuilds the queues from the journal, so
 * unacknowledged updates are sent again.
 */
export class StatusUpdateManager {
  private transport: UpdateTransport | undefined;
  private timer: Cancel | undefined;
  private timerDueMs = Number.POSITIVE_INFINITY;
  /** Set while a send of what is due is scheduled (the batch window is open). */
  private batchPending: Promise<void> | undefined;
  private closed = false;
  /** Disk writes per task run one after another, so the journal's order is the queue's order. */
  private readonly writes = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /**
   * Tasks found ended and acknowledged at start-up: still known (`latest`) so the agent can
   * tell their checkpoints are done with, until it calls `releaseRecovered`.
   */
  private readonly endedAtStart = new Map<string, RecoveredStream>();
  private journal: Journal | undefined;

  private constructor(
    private readonly options: StatusUpdateManagerOptions,
    private readonly queues: UpdateQueues,
  ) {}

  static async open(options: StatusUpdateManagerOptions): Promise<StatusUpdateManager> {
    const queues = new UpdateQueues(options.retry, options.updatesPerTaskMax);
    const manager = new StatusUpdateManager(options, queues);
    const nowMs = options.clock.nowMs();
    await mkdir(options.dir, { recursive: true });
    const legacy = await readLegacyUpdateLogs(options.dir, options.logger);
    manager.journal = await Journal.open(
      join(options.dir, JOURNAL_FILE),
      {
        compactBytesMin: options.journalCompactBytesMin,
        snapshot: () => manager.snapshot(),
        ...(options.beforeCompact ? { beforeCompact: options.beforeCompact } : {}),
      },
      (records) => {
        const streams = replayJournal(records, options.logger);
        for (const stream of legacy.streams) {
          const key = streamKey(stream.latest.frameworkId, stream.latest.taskId);
          if (!streams.has(key)) streams.set(key, stream);
        }
        for (const [key, stream] of streams) {
          if (stream.pending.length === 0 && isTerminalStatus(stream.latest.status))
            manager.endedAtStart.set(key, stream); // acknowledged through the end
          else queues.restore(stream.latest, stream.pending, nowMs);
        }
        return manager.snapshot();
      },
    );
    for (const file of legacy.files) await rm(file, { force: true });
    return manager;
  }

  /** The agent is done with the tasks found ended at start-up: a compaction may forget them. */
  releaseRecovered(): void {
    this.endedAtStart.clear();
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
      await this.openJournal().append(updateRecord(update), true);
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
      // Pumped before the write: the next update is on disk already, only this record is not.
      this.pump();
      await this.openJournal().append(ackRecord(frameworkId, taskId, uuid), false);
      return outcome;
    });
  }

  unacknowledged(): StatusUpdate[] {
    return this.queues.unacknowledged();
  }

  latest(frameworkId: string, taskId: string): StatusUpdate | undefined {
    return (
      this.queues.latest(frameworkId, taskId) ??
      this.endedAtStart.get(streamKey(frameworkId, taskId))?.latest
    );
  }

  /** Forgets a running task's stream once nothing of it is unacknowledged (see UpdateQueues.forget). */
  forget(frameworkId: string, taskId: string): void {
    this.queues.forget(frameworkId, taskId);
  }

  /** Resolves when every send started so far has settled (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.writes.size > 0 || this.batchPending) {
      await Promise.allSettled([
        ...this.inFlight,
        ...this.writes.values(),
        ...(this.batchPending ? [this.batchPending] : []),
      ]);
    }
  }

  /** Stops sending and closes the journal once what was queued for it is written. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.();
    this.timer = undefined;
    while (this.writes.size > 0) await Promise.allSettled([...this.writes.values()]);
    await this.journal?.close();
  }

  /** What a compaction writes: every stream the queues hold, and those found ended at start. */
  private snapshot(): string[] {
    return [...this.endedAtStart.values(), ...this.queues.streamStates()].flatMap(streamRecords);
  }

  private openJournal(): Journal {
    assert(this.journal !== undefined, 'the journal is open once the manager is');
    return this.journal;
  }

  private async serial<T>(
    key: { frameworkId: string; taskId: string },
    work: () => Promise<T>,
  ): Promise<T> {
    const file = streamKey(key.frameworkId, key.taskId);
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

  /**
   * Something became due (an update queued, an acknowledgement let the next one go): opens the
   * batch window, at whose end everything due goes out together.
   */
  private pump(): void {
    if (this.closed || !this.transport || this.batchPending) return;
    const { windowMs } = this.options.batching ?? SAME_TURN_BATCHING;
    this.batchPending = new Promise((resolve) => {
      const fire = (): void => {
        this.batchPending = undefined;
        this.sendDue();
        resolve();
      };
      if (windowMs > 0) this.options.clock.after(windowMs, fire);
      else setImmediate(fire);
    });
  }

  /** Sends every due front update, in calls of bounded size, then sleeps until the next is due. */
  private sendDue(): void {
    if (this.closed) return;
    const transport = this.transport;
    const nowMs = this.options.clock.nowMs();
    if (transport) {
      const due = this.queues.due(nowMs);
      for (const update of due) this.queues.sent(update, nowMs);
      for (const batch of batchesOf(due, this.options.batching ?? SAME_TURN_BATCHING))
        this.track(this.deliver(transport, batch));
    }
    this.schedule();
  }

  private async deliver(
    transport: UpdateTransport,
    updates: readonly StatusUpdate[],
  ): Promise<void> {
    try {
      const taken = await transport.send(updates);
      for (const [index, update] of updates.entries()) {
        if (taken[index] !== true)
          this.options.logger.debug('status update not delivered; will retry', {
            task: update.taskId,
          });
      }
    } catch (error) {
      this.options.logger.debug('status updates send failed; will retry', {
        updates: updates.length,
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
      this.sendDue();
    });
  }
}
