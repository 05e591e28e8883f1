import { WasmosError } from '../../lib/errors.js';
import type { LogsAnswer } from './jobs.js';
import type { MasterClient } from './master-client.js';

export type StreamName = 'stdout' | 'stderr';

/** Bytes asked for per request (the master's logBytesMax). */
const CHUNK_BYTES = 64 * 1024;

/**
 * Reads a task's stdout or stderr through the master (GET /api/v1/tasks/:id/logs) from an
 * offset, writing what comes to `write`. Answers that mean "not yet" (the task is not known or
 * its agent is not connected yet) are not errors while following.
 */
export class LogFollower {
  private offset = 0;
  private size = 0;
  private complete = false;

  constructor(
    private readonly client: MasterClient,
    private readonly taskId: string,
    readonly stream: StreamName,
    private readonly write: (chunk: Uint8Array) => void,
  ) {}

  /** All of the stream has been read and the task will write no more. */
  get done(): boolean {
    return this.complete && this.offset >= this.size;
  }

  /** One request; true when bytes came (so ask again at once). */
  async poll(): Promise<boolean> {
    const query = `stream=${this.stream}&offset=${this.offset}&length=${CHUNK_BYTES}`;
    const response = await this.client.request(
      `/api/v1/tasks/${encodeURIComponent(this.taskId)}/logs?${query}`,
    );
    // Not yet (unknown task, agent away or slow, too many log requests waiting): ask again later.
    if ([404, 429, 502, 504].includes(response.status)) {
      await response.body?.cancel();
      return false;
    }
    const body = (await response.json()) as LogsAnswer | { error: { message: string } };
    if (!response.ok || !('offset' in body)) {
      const message = 'error' in body ? JSON.stringify(body.error) : `HTTP ${response.status}`;
      throw new WasmosError('LOGS_FAILED', `cannot read the task's ${this.stream}: ${message}`);
    }
    // The agent has no sandbox for it (not launched yet, or removed): not yet, or never; the
    // caller's drain bound decides when to stop asking.
    if (body.error !== undefined) return false;
    const data = Buffer.from(body.data, 'base64');
    if (body.offset > this.offset)
      this.write(Buffer.from(`[${body.offset - this.offset} bytes rotated away]\n`));
    if (data.length > 0) this.write(data);
    this.offset = body.offset + data.length;
    this.size = body.size;
    this.complete = body.complete;
    return data.length > 0;
  }
}

/** Polls followers until `stop()` says so and each is done (or `drainRoundsMax` rounds pass). */
export async function followLogs(
  followers: readonly LogFollower[],
  stop: () => boolean,
  pollMs: number,
  drainRoundsMax = 100,
): Promise<void> {
  let drainRounds = 0;
  for (;;) {
    const stopping = stop();
    if (stopping && followers.every((follower) => follower.done)) return;
    if (stopping && ++drainRounds > drainRoundsMax) return;
    let progressed = false;
    for (const follower of followers) {
      if (!follower.done && (await follower.poll())) progressed = true;
    }
    if (!progressed) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
