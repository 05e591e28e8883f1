import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';

export interface JournalOptions {
  /**
   * Compaction starts once the file holds this many bytes and four times what the last
   * compaction wrote (so a large live state is not rewritten after every few appends).
   */
  readonly compactBytesMin: number;
  /** The live state as records, one line each without the newline: what a compaction writes. */
  readonly snapshot: () => string[];
  /**
   * Awaited before a compaction takes its snapshot: what another journal must have made
   * durable before this one forgets anything (see StatusUpdateManager).
   */
  readonly beforeCompact?: () => Promise<void>;
}

interface Queued {
  readonly line: string;
  readonly durable: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * An append-only file of text records, one per line, kept open, with group commit: every
 * record appended in the same turn of the event loop (and while the previous batch is being
 * written) goes out in one write, and one fdatasync covers all of them when any asked for
 * durability. The write itself is synchronous (a small write to the page cache costs less than
 * handing it to the thread pool and back); only the fdatasync waits off the main thread.
 * `append` resolves only once its record is written (and synced, if durable), so a
 * caller that waits for it may act on the record being on disk. Records land in the order they
 * were appended. A crash mid-write leaves at most a torn last line, which `open` drops.
 *
 * When the file grows past its bound it is compacted: rewritten atomically from the owner's
 * `snapshot` of the live state (taken in a later turn, once the effects of every written
 * record are in memory), then reopened for appends.
 */
export class Journal {
  private queued: Queued[] = [];
  private draining: Promise<void> | undefined;
  private bytes: number;
  private snapshotBytes = 0;
  private closed = false;
  /** Records were written since the last fdatasync. */
  private unsynced = false;
  /** Set when a write failed or a compaction left the journal unusable: later appends are refused. */
  private broken: unknown;

  private constructor(
    private readonly file: string,
    private fd: number,
    private readonly options: JournalOptions,
    bytes: number,
  ) {
    this.bytes = bytes;
  }

  /**
   * Reads the journal's complete records (a torn last line is dropped), then rewrites the file
   * from `initial` (the state the owner rebuilt from those records, in its own words) and
   * opens it for appends.
   */
  static async open(
    file: string,
    options: JournalOptions,
    initial: (records: readonly string[]) => Promise<readonly string[]> | readonly string[],
  ): Promise<Journal> {
    const records = await readRecords(file);
    const lines = await initial(records);
    const text = joinLines(lines);
    await writeFileAtomic(file, text);
    const journal = new Journal(file, openSync(file, 'a', 0o600), options, Buffer.byteLength(text));
    journal.snapshotBytes = journal.bytes;
    return journal;
  }

  /** Appends one record; resolves once it is written, and synced to disk when `durable`. */
  append(line: string, durable: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`journal ${this.file} is closed`));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queued.push({ line, durable, resolve, reject });
      this.draining ??= new Promise<void>((started) => setImmediate(started)).then(() =>
        this.drain(),
      );
    });
  }

  /** Resolves once every record appended so far is durable. */
  async flush(): Promise<void> {
    if (this.queued.length === 0 && !this.draining && !this.unsynced) return;
    await this.append('', true);
  }

  /** Refuses further appends, writes and syncs what was queued, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.draining) await this.draining;
    if (this.unsynced && this.broken === undefined) await datasync(this.fd).catch(() => undefined);
    closeSync(this.fd);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const batch = this.queued;
        this.queued = [];
        if (this.broken !== undefined) {
          for (const each of batch) each.reject(this.broken);
          continue;
        }
        const text = joinLines(batch.map((each) => each.line).filter((line) => line !== ''));
        try {
          if (text.length > 0) writeAll(this.fd, text);
          this.unsynced ||= text.length > 0;
          if (batch.some((each) => each.durable)) {
            await datasync(this.fd);
            this.unsynced = false;
          }
          this.bytes += Buffer.byteLength(text);
        } catch (error) {
          // A write cut short leaves part of a record, which the next one would be glued to:
          // nothing more is appended (the agent's next checkpoint fails loudly instead).
          this.broken = error;
          for (const each of batch) each.reject(error);
          continue;
        }
        for (const each of batch) each.resolve();
        if (this.dueForCompaction()) {
          // A later turn: the callers of the records just written have applied them in memory.
          await new Promise<void>((later) => setImmediate(later));
          await this.compact();
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private dueForCompaction(): boolean {
    return this.bytes >= this.options.compactBytesMin && this.bytes >= this.snapshotBytes * 4;
  }

  /**
   * A compaction that fails before its rename leaves the old file in use (retried after the
   * file grows by another bound); one that fails after it breaks the journal, since appends
   * to the old, unlinked file would be lost.
   */
  private async compact(): Promise<void> {
    let text: string;
    try {
      await this.options.beforeCompact?.();
      text = joinLines(this.options.snapshot());
      await writeFileAtomic(this.file, text);
    } catch {
      this.snapshotBytes = this.bytes;
      return;
    }
    const previous = this.fd;
    try {
      this.fd = openSync(this.file, 'a', 0o600);
      this.unsynced = false; // the rewrite was synced
    } catch (error) {
      this.broken = error;
      return;
    }
    closeSync(previous);
    this.bytes = Buffer.byteLength(text);
    this.snapshotBytes = this.bytes;
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < bytes.length;)
    offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fdatasync(fd, (error) => (error ? reject(error) : resolve())),
  );
}

function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** The complete lines of `file` (none when it does not exist); the part after the last newline is torn. */
export async function readRecords(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.length > 0);
}
