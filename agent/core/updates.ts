import { assert } from '../../lib/assert.js';
import { terminalTaskStates, type TaskStatus } from '../../protocol/messages/task.js';
import { backoffDelayMs } from './backoff.js';

/** One status update as the agent keeps and sends it; `uuid` is `status.uuid`. */
export interface StatusUpdate {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly uuid: string;
  readonly status: TaskStatus;
}

export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

interface Stream {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly updates: StatusUpdate[];
  /** Sends of the front update so far; the next retry waits backoff(attempts - 1). */
  attempts: number;
  nextAttemptMs: number;
  /** The state of the newest update ever queued on this stream (acked or not). */
  latest: StatusUpdate;
}

export type AckOutcome =
  | { readonly kind: 'acknowledged'; readonly update: StatusUpdate; readonly streamDone: boolean }
  | { readonly kind: 'unknown_task' }
  | { readonly kind: 'not_front' };

export function streamKey(frameworkId: string, taskId: string): string {
  // Ids never contain NUL (protocol ids are text); the separator keeps ("a", "bc") ≠ ("ab", "c").
  return `${frameworkId}\u0000${taskId}`;
}

export function isTerminalStatus(status: TaskStatus): boolean {
  return terminalTaskStates.has(status.state);
}

/**
 * The per-task status update queues (Mesos's status update manager, minus the disk): updates of
 * one task go out in order, the next only after the previous is acknowledged; the front of each
 * queue is retried with exponential backoff until acknowledged. Pure: time comes in as `nowMs`,
 * sending and persisting are the caller's (agent/status/manager.ts).
 */
export class UpdateQueues {
  private readonly streams = new Map<string, Stream>();

  constructor(
    private readonly retry: RetryPolicy,
    readonly updatesPerTaskMax: number,
  ) {
    assert(updatesPerTaskMax > 0, 'a task needs room for at least one update');
  }

  /** Whether an update for this task would be queued now (checked before it is written to disk). */
  admit(frameworkId: string, taskId: string): 'ok' | 'full' | 'after_terminal' {
    const stream = this.streams.get(streamKey(frameworkId, taskId));
    if (!stream) return 'ok';
    if (isTerminalStatus(stream.latest.status)) return 'after_terminal';
    if (stream.updates.length >= this.updatesPerTaskMax) return 'full';
    return 'ok';
  }

  /** Queues an update behind the task's earlier ones; refused past the bound or after a terminal one. */
  add(update: StatusUpdate, nowMs: number): 'queued' | 'full' | 'after_terminal' {
    assert(update.status.uuid === update.uuid, 'an update carries its uuid in its status');
    assert(update.status.task_id.value === update.taskId, 'an update names its own task');
    const admitted = this.admit(update.frameworkId, update.taskId);
    if (admitted !== 'ok') return admitted;
    const key = streamKey(update.frameworkId, update.taskId);
    const stream = this.streams.get(key);
    if (!stream) {
      this.streams.set(key, {
        frameworkId: update.frameworkId,
        taskId: update.taskId,
        updates: [update],
        attempts: 0,
        nextAttemptMs: nowMs,
        latest: update,
      });
      return 'queued';
    }
    if (stream.updates.length === 0) {
      stream.attempts = 0;
      stream.nextAttemptMs = nowMs;
    }
    stream.updates.push(update);
    stream.latest = update;
    return 'queued';
  }

  /** The front update of every task whose (re)send is due at `nowMs`, in task order of arrival. */
  due(nowMs: number): StatusUpdate[] {
    const ready: StatusUpdate[] = [];
    for (const stream of this.streams.values()) {
      const front = stream.updates[0];
      if (front && stream.nextAttemptMs <= nowMs) ready.push(front);
    }
    return ready;
  }

  /** Records a send attempt of the front update; its retry waits the next backoff step. */
  sent(update: StatusUpdate, nowMs: number): void {
    const stream = this.streams.get(streamKey(update.frameworkId, update.taskId));
    if (!stream || stream.updates[0]?.uuid !== update.uuid) return; // acknowledged meanwhile
    const delayMs = backoffDelayMs(stream.attempts, this.retry.baseMs, this.retry.maxMs);
    stream.attempts += 1;
    stream.nextAttemptMs = nowMs + delayMs;
    assert(stream.nextAttemptMs > nowMs, 'a retry is scheduled in the future');
  }

  acknowledge(frameworkId: string, taskId: string, uuid: string): AckOutcome {
    const key = streamKey(frameworkId, taskId);
    const stream = this.streams.get(key);
    if (!stream) return { kind: 'unknown_task' };
    const front = stream.updates[0];
    // Mesos ignores acknowledgements of anything but the front: duplicates and strays.
    if (!front || front.uuid !== uuid) return { kind: 'not_front' };
    stream.updates.shift();
    stream.attempts = 0;
    stream.nextAttemptMs = Number.NEGATIVE_INFINITY;
    const streamDone = stream.updates.length === 0 && isTerminalStatus(stream.latest.status);
    if (streamDone) this.streams.delete(key);
    return { kind: 'acknowledged', update: front, streamDone };
  }

  /** After a reconnect every front is due at once, and backoff starts over. */
  resetRetries(nowMs: number): void {
    for (const stream of this.streams.values()) {
      stream.attempts = 0;
      stream.nextAttemptMs = nowMs;
    }
  }

  /**
   * Rebuilds a task's queue from the disk log after a restart: `latest` is its newest update
   * (acknowledged or not), `pending` the unacknowledged ones in order, all due at once.
   */
  restore(latest: StatusUpdate, pending: readonly StatusUpdate[], nowMs: number): void {
    const key = streamKey(latest.frameworkId, latest.taskId);
    assert(!this.streams.has(key), 'a task is restored once');
    assert(
      pending.length === 0 || pending.at(-1)?.uuid === latest.uuid,
      'the newest pending update is the latest',
    );
    this.streams.set(key, {
      frameworkId: latest.frameworkId,
      taskId: latest.taskId,
      updates: [...pending],
      attempts: 0,
      nextAttemptMs: nowMs,
      latest,
    });
  }

  /** When the next send is due, if any update is waiting. */
  nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const stream of this.streams.values()) {
      if (stream.updates.length === 0) continue;
      if (next === undefined || stream.nextAttemptMs < next) next = stream.nextAttemptMs;
    }
    return next;
  }

  /** Every task's newest update and its unacknowledged ones (what the disk must rebuild). */
  streamStates(): Array<{ latest: StatusUpdate; pending: readonly StatusUpdate[] }> {
    return [...this.streams.values()].map((stream) => ({
      latest: stream.latest,
      pending: stream.updates,
    }));
  }

  /** Every unacknowledged update, in order per task (for REREGISTER). */
  unacknowledged(): StatusUpdate[] {
    return [...this.streams.values()].flatMap((stream) => stream.updates);
  }

  latest(frameworkId: string, taskId: string): StatusUpdate | undefined {
    return this.streams.get(streamKey(frameworkId, taskId))?.latest;
  }

  /** Forgets a task whose updates are all acknowledged (its stream stays otherwise). */
  forget(frameworkId: string, taskId: string): void {
    const key = streamKey(frameworkId, taskId);
    const stream = this.streams.get(key);
    assert(
      !stream || stream.updates.length === 0,
      'only a task with nothing unacknowledged is forgotten',
    );
    this.streams.delete(key);
  }

  get tasks(): number {
    return this.streams.size;
  }
}
