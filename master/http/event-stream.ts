import { randomUUID } from 'node:crypto';
import { assert } from '../../lib/assert.js';
import { joinBytes } from '../../lib/bytes.js';
import { encodeRecord } from '../../protocol/index.js';

export type SendVerdict = 'sent' | 'closed' | 'overflow';

/**
 * One subscriber's event stream: a streaming HTTP body of RecordIO records.
 * Records sent in one turn of the event loop (one batch of the master's
 * deliveries) go out as one chunk, so a burst costs one socket write, not one
 * per record. The queue between the master and a slow client is bounded; a
 * client that falls `recordsQueuedMax` records behind is cut off (it
 * reconnects and reconciles, as after any disconnect) rather than letting the
 * master buffer without limit.
 */
export class EventStream {
  readonly id = randomUUID();
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private open = true;
  private readonly closeListeners: Array<() => void> = [];
  /** Encoded records sent this turn, not yet handed to the body. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Records per chunk handed to the body, so its queue is counted in records. */
  private readonly recordsIn = new WeakMap<Uint8Array, number>();

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
      { highWaterMark: recordsQueuedMax, size: (chunk) => this.recordsIn.get(chunk) ?? 1 },
    );
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(record: Uint8Array): SendVerdict {
    if (!this.open) return 'closed';
    if ((this.controller.desiredSize ?? 0) - this.pending.length <= 0) {
      this.close();
      return 'overflow';
    }
    const encoded = encodeRecord(record);
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push(encoded);
    this.pendingBytes += encoded.byteLength;
    return 'sent';
  }

  /** Hands this turn's records to the body as one chunk. */
  private flush(): void {
    if (this.pending.length === 0 || !this.open) return;
    const records = this.pending;
    const chunk = records.length === 1 ? records[0]! : joinBytes(records, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.recordsIn.set(chunk, records.length);
    this.controller.enqueue(chunk);
  }

  /** Ends the stream for the client (after what was sent); listeners learn of it once. */
  close(): void {
    if (!this.open) return;
    try {
      this.flush();
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
