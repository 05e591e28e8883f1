import { randomUUID } from 'node:crypto';
import { assert } from '../../lib/assert.js';
import { encodeRecord } from '../../protocol/index.js';

export type SendVerdict = 'sent' | 'closed' | 'overflow';

/**
 * One subscriber's event stream: a streaming HTTP body of RecordIO records,
 * one record per chunk. The queue between the master and a slow client is
 * bounded; a client that falls `recordsQueuedMax` records behind is cut off
 * (it reconnects and reconciles, as after any disconnect) rather than letting
 * the master buffer without limit.
 */
export class EventStream {
  readonly id = randomUUID();
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private open = true;
  private readonly closeListeners: Array<() => void> = [];

  constructor(readonly recordsQueuedMax: number) {
    assert(
      Number.isInteger(recordsQueuedMax) && recordsQueuedMax > 0,
      'stream queue bound must be positive',
    );
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => this.finish(),
      },
      // Counted in records: desiredSize tells how far behind the client is.
      { highWaterMark: recordsQueuedMax, size: () => 1 },
    );
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(record: Uint8Array): SendVerdict {
    if (!this.open) return 'closed';
    if ((this.controller.desiredSize ?? 0) <= 0) {
      this.close();
      return 'overflow';
    }
    this.controller.enqueue(encodeRecord(record));
    return 'sent';
  }

  /** Ends the stream for the client; listeners learn of it once. */
  close(): void {
    if (!this.open) return;
    try {
      this.controller.close();
    } catch {
      // Already errored or cancelled by the client: nothing left to close.
    }
    this.finish();
  }

  onClose(listener: () => void): void {
    if (!this.open) listener();
    else this.closeListeners.push(listener);
  }

  private finish(): void {
    if (!this.open) return;
    this.open = false;
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
