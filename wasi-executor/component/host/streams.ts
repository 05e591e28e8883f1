/**
 * wasi:io/{error,poll,streams}. The host is synchronous (Node 20 has no
 * JSPI), so every stream is always ready: reads return what is there or
 * `closed` at the end, writes complete before they return. The resource
 * classes are shared by every task of a worker (jco checks them with
 * `instanceof`); each instance carries its own task's state.
 */
import { sleepMs } from '../../sleep.js';
import { ResultError, type FsErrorCode } from './errors.js';

/** jco's Symbol.dispose: called when the guest drops an owned resource. */
export const symbolDispose: symbol =
  (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');

/** wasi:io/error#error: a message, and the filesystem code when it came from a file. */
export class IoError {
  constructor(
    readonly message: string,
    readonly fsCode?: FsErrorCode,
  ) {}

  toDebugString(): string {
    return this.message;
  }
}

export type StreamError = { tag: 'closed' } | { tag: 'last-operation-failed'; val: IoError };

const closed: StreamError = { tag: 'closed' };

export function streamClosed(): never {
  throw new ResultError(closed);
}

export function streamFailed(error: IoError): never {
  throw new ResultError({ tag: 'last-operation-failed', val: error } satisfies StreamError);
}

/** Where an input stream reads from; `undefined` means end of stream. */
export interface ByteSource {
  read(bytesMax: number): Uint8Array | undefined;
}

/** Where an output stream writes to; it takes every byte or throws a StreamError. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
}

/**
 * A pollable that is ready at once, or once a monotonic deadline has passed. `beforeBlocking`
 * (the task's output flush) runs before a sleep, so output held for batching is not held
 * through it.
 */
export class Pollable {
  constructor(
    readonly deadlineNs: bigint | undefined = undefined,
    private readonly beforeBlocking?: () => void,
  ) {}

  ready(): boolean {
    return this.deadlineNs === undefined || process.hrtime.bigint() >= this.deadlineNs;
  }

  block(): void {
    if (this.deadlineNs === undefined) return;
    const remainingNs = this.deadlineNs - process.hrtime.bigint();
    if (remainingNs <= 0n) return;
    this.beforeBlocking?.();
    sleepMs(Number(remainingNs / 1_000_000n) + 1);
  }
}

/** wasi:io/poll#poll: blocks until at least one pollable is ready. */
export function poll(pollables: readonly Pollable[]): Uint32Array {
  if (pollables.length === 0) throw new ResultError('poll needs at least one pollable');
  for (;;) {
    const ready: number[] = [];
    pollables.forEach((pollable, index) => {
      if (pollable.ready()) ready.push(index);
    });
    if (ready.length > 0) return new Uint32Array(ready);
    const earliest = pollables.reduce((first, pollable) =>
      (pollable.deadlineNs ?? 0n) < (first.deadlineNs ?? 0n) ? pollable : first,
    );
    earliest.block();
  }
}

/** Largest single read handed to the guest: bounds one host allocation. */
const readBytesMax = 1024 * 1024;

export class InputStream {
  constructor(private readonly source: ByteSource) {}

  read(len: bigint): Uint8Array {
    if (len === 0n) return new Uint8Array(0);
    const bytes = this.source.read(Number(len > BigInt(readBytesMax) ? readBytesMax : len));
    if (bytes === undefined) streamClosed();
    return bytes;
  }

  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }

  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }

  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }

  subscribe(): Pollable {
    return new Pollable();
  }
}

/** How much the guest may write at once; check-write reports it. */
const writeBytesMax = 1024 * 1024;

export class OutputStream {
  constructor(private readonly sink: ByteSink) {}

  checkWrite(): bigint {
    return BigInt(writeBytesMax);
  }

  write(contents: Uint8Array): void {
    if (contents.length > writeBytesMax) {
      streamFailed(new IoError('write larger than check-write permitted'));
    }
    this.sink.write(contents);
  }

  blockingWriteAndFlush(contents: Uint8Array): void {
    this.write(contents);
  }

  flush(): void {}

  blockingFlush(): void {}

  writeZeroes(len: bigint): void {
    if (len > BigInt(writeBytesMax)) {
      streamFailed(new IoError('write larger than check-write permitted'));
    }
    this.write(new Uint8Array(Number(len)));
  }

  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }

  splice(source: InputStream, len: bigint): bigint {
    const bytes = source.read(len);
    this.write(bytes);
    return BigInt(bytes.length);
  }

  blockingSplice(source: InputStream, len: bigint): bigint {
    return this.splice(source, len);
  }

  subscribe(): Pollable {
    return new Pollable();
  }
}

/** A source over bytes held in memory (stdin). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  let offset = 0;
  return {
    read(bytesMax) {
      if (offset >= bytes.length) return undefined;
      const chunk = bytes.subarray(offset, offset + bytesMax);
      offset += chunk.length;
      return chunk;
    },
  };
}
