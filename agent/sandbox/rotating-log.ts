import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../lib/assert.js';

export type LogStreamName = 'stdout' | 'stderr';

/**
 * One output stream of a task, kept in its sandbox as `stdout` (being written), `stdout.1` (the
 * previous `bytesMax` bytes) … `stdout.N` (N = rotationsKept); older bytes are deleted and counted
 * in `stdout.dropped`, so every byte keeps its offset from the task's first byte. Writes are
 * synchronous: a reader in the same process never sees a rotation half done. The file is
 * opened at the first write: a task that prints nothing on a stream costs no file for it.
 */
export class RotatingLog {
  private fd: number | undefined;
  private currentBytes = 0;
  private droppedBytes = 0;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly stream: LogStreamName,
    private readonly bytesMax: number,
    private readonly rotationsKept: number,
    /**
     * The stream has never been written (a new sandbox): its first write opens the file without
     * looking for earlier bytes or a dropped count (a stat and an existence check per task).
     */
    private readonly fresh = false,
  ) {
    assert(bytesMax > 0, 'a log file holds at least one byte');
    assert(
      Number.isInteger(rotationsKept) && rotationsKept >= 0,
      'rotations kept is a natural number',
    );
  }

  write(bytes: Uint8Array): void {
    assert(!this.closed, 'no writes to a closed log');
    if (bytes.length === 0) return;
    if (this.fd === undefined) {
      this.fd = openSync(this.file(0), 'a', 0o600);
      if (!this.fresh) {
        this.currentBytes = fstatSync(this.fd).size;
        this.droppedBytes = readDropped(this.dir, this.stream);
      }
    }
    let offset = 0;
    while (offset < bytes.length) {
      if (this.currentBytes >= this.bytesMax) this.rotate();
      const take = Math.min(this.bytesMax - this.currentBytes, bytes.length - offset);
      const written = writeSync(this.fd!, bytes, offset, take);
      offset += written;
      this.currentBytes += written;
    }
    assert(this.currentBytes <= this.bytesMax, 'the current file never exceeds bytesMax');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    const oldest = this.file(this.rotationsKept);
    if (existsSync(oldest)) {
      this.droppedBytes += statSync(oldest).size;
      rmSync(oldest);
      writeFileSync(join(this.dir, `${this.stream}.dropped`), String(this.droppedBytes));
    }
    for (let index = this.rotationsKept - 1; index >= 0; index--) {
      if (existsSync(this.file(index))) renameSync(this.file(index), this.file(index + 1));
    }
    this.fd = openSync(this.file(0), 'a', 0o600);
    this.currentBytes = 0;
  }

  private file(index: number): string {
    return logFile(this.dir, this.stream, index);
  }
}

function logFile(dir: string, stream: LogStreamName, index: number): string {
  return join(dir, index === 0 ? stream : `${stream}.${index}`);
}

function readDropped(dir: string, stream: LogStreamName): number {
  const file = join(dir, `${stream}.dropped`);
  if (!existsSync(file)) return 0; // the usual case, without the cost of a thrown ENOENT
  try {
    const dropped = Number(readFileSync(file, 'utf8'));
    return Number.isSafeInteger(dropped) && dropped >= 0 ? dropped : 0;
  } catch {
    return 0;
  }
}

export interface LogChunk {
  /** Offset of `data`'s first byte from the task's first byte. */
  readonly offset: number;
  readonly data: Uint8Array;
  /** Bytes written to the stream so far. */
  readonly size: number;
}

/**
 * Reads up to `length` bytes from `offset` (absent: the last `length` bytes). Bytes rotated away
 * are skipped: the chunk starts at the oldest byte still kept, and says so in `offset`.
 */
export function readLog(
  dir: string,
  stream: LogStreamName,
  offset: number | undefined,
  length: number,
): LogChunk {
  assert(length >= 0, 'a read length is a natural number');
  const files: Array<{ path: string; bytes: number }> = [];
  for (let index = 0; ; index++) {
    const path = logFile(dir, stream, index);
    if (!existsSync(path)) break;
    files.unshift({ path, bytes: statSync(path).size });
  }
  const keptStart = readDropped(dir, stream);
  const size = keptStart + files.reduce((sum, file) => sum + file.bytes, 0);
  const start = Math.min(size, Math.max(keptStart, offset ?? size - length));
  const data = new Uint8Array(Math.min(length, size - start));
  let fileStart = keptStart;
  let filled = 0;
  for (const file of files) {
    const fileEnd = fileStart + file.bytes;
    const from = Math.max(start + filled, fileStart);
    if (filled < data.length && from < fileEnd) {
      const take = Math.min(fileEnd - from, data.length - filled);
      const fd = openSync(file.path, 'r');
      try {
        filled += readSync(fd, data, filled, take, from - fileStart);
      } finally {
        closeSync(fd);
      }
    }
    fileStart = fileEnd;
  }
  return { offset: start, data: data.subarray(0, filled), size };
}
