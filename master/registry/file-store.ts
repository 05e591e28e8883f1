import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';
import { RegistryCorruptError } from './errors.js';
import { DEFAULT_REGISTRY_LIMITS, checkRegistryLimits, type RegistryLimits } from './limits.js';
import type {
  RegistryStore,
  RegistryVersion,
  RegistryWriteError,
  StoredRegistry,
} from './store.js';

export const REGISTRY_FILE_NAME = 'registry.cbor';
export const JOURNAL_FILE_NAME = 'registry.journal';
const TEMP_PREFIX = `${REGISTRY_FILE_NAME}.tmp-`;
const JOURNAL_TEMP_PREFIX = `${JOURNAL_FILE_NAME}.tmp-`;

/**
 * File layout: MAGIC (8) | counter u64 BE (8) | length u32 BE (4) | sha256(counter|length|bytes)
 * (32) | bytes. The checksum covers the header fields too, so a torn or bit-flipped file is
 * detected rather than read as something else.
 */
const MAGIC = Buffer.from('WSREG001', 'ascii');
const HEADER_BYTES = MAGIC.length + 8 + 4 + 32;
/** Where the checksum sits in the registry file's header (its first 8 bytes are in the version). */
const CHECKSUM_OFFSET = MAGIC.length + 12;

/**
 * Journal layout: JOURNAL_MAGIC (8) | counter u64 BE (8) | the first 8 bytes of the registry
 * file's checksum (8), naming the one registry file whose changes it holds; then records, each
 * length u32 BE (4) | sha256(journal header | length | bytes) (32) | bytes. A journal whose
 * header names another registry file is stale (left by a crash right after a whole write) and
 * ignored; a torn last record (a crash during an append, never acknowledged) is cut off.
 */
const JOURNAL_MAGIC = Buffer.from('WSJRN001', 'ascii');
const JOURNAL_HEADER_BYTES = JOURNAL_MAGIC.length + 8 + 8;
const RECORD_HEADER_BYTES = 4 + 32;

interface Decoded {
  readonly counter: bigint;
  readonly bytes: Uint8Array;
  readonly version: RegistryVersion;
}

/** What the registry file's header says, without reading the registry itself. */
interface RegistryHead {
  readonly counter: bigint;
  /** `counter-checksumprefix`: the version while no change is appended. */
  readonly version: RegistryVersion;
  /** The journal header that belongs to this registry file. */
  readonly journalHeader: Buffer;
}

/**
 * The single master's registry: one file in the work dir, replaced crash-safely (temp file,
 * fsync, rename, fsync of the directory), plus a journal of changes appended after it
 * (`append`: one write and one fdatasync, however large the registry). The version is a
 * counter that grows with every whole write plus a prefix of the checksum, and the journal's
 * length once changes are appended; a write names the version it replaces.
 */
export class FileRegistryStore implements RegistryStore {
  private readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Both files as this store left them after its last append (inode, size, mtime), and what
   * they hold: while they still look the same, the next append reads neither. Another writer
   * changes what they look like, and the append reads them again (and finds the conflict).
   */
  private seen:
    { registry: string; journal: string; head: RegistryHead; journalBytes: number } | undefined;

  constructor(
    private readonly workDir: string,
    private readonly limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
  ) {
    checkRegistryLimits(limits);
    this.path = join(workDir, REGISTRY_FILE_NAME);
  }

  load(): Promise<StoredRegistry | undefined> {
    return this.serialized(async () => {
      this.seen = undefined;
      await this.removeTempFiles();
      const decoded = await this.readCurrent();
      if (!decoded) return undefined;
      const journal = await this.readJournal(headOf(decoded));
      if (journal.changes.length === 0) return { bytes: decoded.bytes, version: decoded.version };
      return {
        bytes: decoded.bytes,
        version: journalVersion(decoded.version, journal.bytes),
        changes: journal.changes,
      };
    });
  }

  append(
    change: Uint8Array,
    expected: RegistryVersion,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    if (change.byteLength > this.limits.registryBytesMax) {
      return Promise.resolve(err(tooLarge(change.byteLength, this.limits.registryBytesMax)));
    }
    return this.serialized(() => this.appendNow(change, expected));
  }

  store(
    bytes: Uint8Array,
    expected: RegistryVersion | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    if (bytes.byteLength > this.limits.registryBytesMax) {
      return Promise.resolve(err(tooLarge(bytes.byteLength, this.limits.registryBytesMax)));
    }
    return this.serialized(() => this.storeNow(bytes, expected));
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private async storeNow(
    bytes: Uint8Array,
    expected: RegistryVersion | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    this.seen = undefined;
    let current: Decoded | undefined;
    try {
      current = await this.readCurrent();
    } catch (error) {
      return err({ code: 'unavailable', message: `cannot read the registry: ${String(error)}` });
    }
    let version: RegistryVersion | undefined;
    try {
      version =
        current && journalVersion(current.version, await this.journalBytes(headOf(current)));
    } catch (error) {
      return err({ code: 'unavailable', message: `cannot read the journal: ${String(error)}` });
    }
    if (version !== expected) {
      return err({
        code: 'conflict',
        message: `registry is at version ${version ?? 'none'}, not ${expected ?? 'none'}`,
      });
    }
    const counter = (current?.counter ?? 0n) + 1n;
    const encoded = encodeRegistryFile(counter, bytes);
    try {
      await this.replaceDurably(encoded, this.path, TEMP_PREFIX);
    } catch (error) {
      return err({ code: 'unavailable', message: `cannot write the registry: ${String(error)}` });
    }
    // The old journal names the old registry file: stale from now on, so removing it need not
    // be durable (a crash that brings it back leaves it ignored).
    await unlink(this.journalPath).catch(() => undefined);
    return ok(decodeRegistryFile(encoded, this.path).version);
  }

  private get journalPath(): string {
    return join(this.workDir, JOURNAL_FILE_NAME);
  }

  private async appendNow(
    change: Uint8Array,
    expected: RegistryVersion,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    let head: RegistryHead | undefined;
    let journalBytes: number;
    let registryLooks: string;
    try {
      const looks = await Promise.all([looksOf(this.path), looksOf(this.journalPath)]);
      registryLooks = looks[0];
      const seen = this.seen;
      this.seen = undefined;
      if (seen && seen.registry === looks[0] && seen.journal === looks[1]) {
        head = seen.head;
        journalBytes = seen.journalBytes;
      } else {
        head = await this.readHead();
        journalBytes = head ? await this.journalBytes(head) : 0;
      }
    } catch (error) {
      return err({ code: 'unavailable', message: `cannot read the registry: ${String(error)}` });
    }
    const version = head && journalVersion(head.version, journalBytes);
    if (!head || version !== expected) {
      return err({
        code: 'conflict',
        message: `registry is at version ${version ?? 'none'}, not ${expected}`,
      });
    }
    const record = encodeJournalRecord(head.journalHeader, change);
    const journalBytesAfter = Math.max(journalBytes, JOURNAL_HEADER_BYTES) + record.byteLength;
    if (journalBytesAfter > this.limits.registryBytesMax) {
      // The master writes the whole registry instead (which empties the journal).
      return err(tooLarge(journalBytesAfter, this.limits.registryBytesMax));
    }
    try {
      if (journalBytes === 0) {
        // A new journal (or one replacing a stale journal) appears whole or not at all.
        const fresh = Buffer.concat([head.journalHeader, record]);
        await this.replaceDurably(fresh, this.journalPath, JOURNAL_TEMP_PREFIX);
      } else {
        const file = await open(this.journalPath, 'a');
        try {
          await file.write(record);
          await file.datasync();
        } finally {
          await file.close();
        }
      }
    } catch (error) {
      return err({
        code: 'unavailable',
        message: `cannot append to the registry: ${String(error)}`,
      });
    }
    const journalLooks = await looksOf(this.journalPath).catch(() => undefined);
    if (journalLooks !== undefined)
      this.seen = {
        registry: registryLooks,
        journal: journalLooks,
        head,
        journalBytes: journalBytesAfter,
      };
    return ok(journalVersion(head.version, journalBytesAfter));
  }

  /** The registry file's header alone (a change is appended without reading the registry). */
  private async readHead(): Promise<RegistryHead | undefined> {
    let file: FileHandle;
    try {
      file = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
      if (bytesRead !== HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC))
        throw new RegistryCorruptError(`${this.path}: not a registry file`, this.path);
      const counter = header.readBigUInt64BE(MAGIC.length);
      return headFrom(counter, header.subarray(CHECKSUM_OFFSET, HEADER_BYTES));
    } finally {
      await file.close();
    }
  }

  /** Bytes of the journal that belongs to `head` (0: none, or a stale one). */
  private async journalBytes(head: RegistryHead): Promise<number> {
    let file: FileHandle;
    try {
      file = await open(this.journalPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    try {
      const header = Buffer.alloc(JOURNAL_HEADER_BYTES);
      const { bytesRead } = await file.read(header, 0, JOURNAL_HEADER_BYTES, 0);
      if (bytesRead !== JOURNAL_HEADER_BYTES || !header.equals(head.journalHeader)) return 0;
      const { size } = await file.stat();
      // A header with no record after it (every record was torn and cut off) holds nothing.
      return size > JOURNAL_HEADER_BYTES ? size : 0;
    } finally {
      await file.close();
    }
  }

  /** The changes appended after `head`'s registry; cuts off a torn last record. */
  private async readJournal(head: RegistryHead): Promise<{ changes: Uint8Array[]; bytes: number }> {
    let raw: Buffer;
    try {
      raw = await readFile(this.journalPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { changes: [], bytes: 0 };
      throw error;
    }
    if (raw.length < JOURNAL_HEADER_BYTES) return { changes: [], bytes: 0 };
    if (!raw.subarray(0, JOURNAL_HEADER_BYTES).equals(head.journalHeader))
      return { changes: [], bytes: 0 };
    const read = decodeJournal(raw, head.journalHeader, this.journalPath);
    if (read.goodBytes < raw.length) {
      const file = await open(this.journalPath, 'r+');
      try {
        await file.truncate(read.goodBytes);
        await file.sync();
      } finally {
        await file.close();
      }
    }
    return {
      changes: read.changes,
      bytes: read.changes.length === 0 ? 0 : read.goodBytes,
    };
  }

  private async readCurrent(): Promise<Decoded | undefined> {
    let raw: Buffer;
    try {
      raw = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return decodeRegistryFile(raw, this.path);
  }

  private async replaceDurably(
    encoded: Uint8Array,
    path: string,
    tempPrefix: string,
  ): Promise<void> {
    const tempPath = join(this.workDir, `${tempPrefix}${randomBytes(6).toString('hex')}`);
    const file = await open(tempPath, 'wx', 0o600);
    try {
      await file.writeFile(encoded);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tempPath, path);
    // The rename is only durable once the directory entry is on disk.
    const directory = await open(this.workDir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  /** A crash between writing a temp file and renaming it leaves the temp file: it was never the registry. */
  private async removeTempFiles(): Promise<void> {
    const names = await readdir(this.workDir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX) || name.startsWith(JOURNAL_TEMP_PREFIX))
        await unlink(join(this.workDir, name)).catch(() => undefined);
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

export function encodeRegistryFile(counter: bigint, bytes: Uint8Array): Uint8Array {
  assert(counter > 0n, 'registry counter starts at 1');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeBigUInt64BE(counter, MAGIC.length);
  header.writeUInt32BE(bytes.byteLength, MAGIC.length + 8);
  checksum(header, bytes).copy(header, MAGIC.length + 12);
  return Buffer.concat([header, bytes]);
}

export function decodeRegistryFile(raw: Uint8Array, location: string): Decoded {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (buffer.length < HEADER_BYTES || !buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new RegistryCorruptError(
      `${location}: not a registry file (bad magic or truncated header)`,
      location,
    );
  }
  const counter = buffer.readBigUInt64BE(MAGIC.length);
  const length = buffer.readUInt32BE(MAGIC.length + 8);
  if (buffer.length !== HEADER_BYTES + length) {
    const found = buffer.length - HEADER_BYTES;
    throw new RegistryCorruptError(
      `${location}: registry is ${found} bytes, header says ${length}`,
      location,
    );
  }
  const bytes = buffer.subarray(HEADER_BYTES);
  const stored = buffer.subarray(MAGIC.length + 12, HEADER_BYTES);
  const computed = checksum(buffer.subarray(0, HEADER_BYTES), bytes);
  if (!stored.equals(computed)) {
    throw new RegistryCorruptError(`${location}: registry checksum mismatch`, location);
  }
  return {
    counter,
    bytes: new Uint8Array(bytes),
    version: `${counter}-${computed.toString('hex', 0, 8)}`,
  };
}

/** A file's inode, size and modification time (`none` if absent): changes when anyone writes it. */
async function looksOf(path: string): Promise<string> {
  try {
    const { ino, size, mtimeNs, ctimeNs } = await stat(path, { bigint: true });
    return `${ino}:${size}:${mtimeNs}:${ctimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw error;
  }
}

function headOf(decoded: Decoded): RegistryHead {
  const [counter, prefix] = decoded.version.split('-');
  return headFrom(BigInt(counter!), Buffer.from(prefix!, 'hex'));
}

function headFrom(counter: bigint, checksumBytes: Buffer): RegistryHead {
  const prefix = checksumBytes.subarray(0, 8);
  const journalHeader = Buffer.alloc(JOURNAL_HEADER_BYTES);
  JOURNAL_MAGIC.copy(journalHeader, 0);
  journalHeader.writeBigUInt64BE(counter, JOURNAL_MAGIC.length);
  prefix.copy(journalHeader, JOURNAL_MAGIC.length + 8);
  return { counter, version: `${counter}-${prefix.toString('hex')}`, journalHeader };
}

/** The version of a registry file with `journalBytes` of journal after it. */
function journalVersion(registryVersion: RegistryVersion, journalBytes: number): RegistryVersion {
  return journalBytes === 0 ? registryVersion : `${registryVersion}+${journalBytes}`;
}

export function encodeJournalRecord(journalHeader: Buffer, change: Uint8Array): Buffer {
  const record = Buffer.alloc(RECORD_HEADER_BYTES + change.byteLength);
  record.writeUInt32BE(change.byteLength, 0);
  recordChecksum(journalHeader, record.subarray(0, 4), change).copy(record, 4);
  record.set(change, RECORD_HEADER_BYTES);
  return record;
}

/**
 * The records of a journal whose header is good. A record cut short, or a bad checksum on the
 * last record, is a torn append (its fdatasync never returned, so it was never acknowledged):
 * reading stops there. A bad record with more after it is corruption.
 */
export function decodeJournal(
  raw: Buffer,
  journalHeader: Buffer,
  location: string,
): { changes: Uint8Array[]; goodBytes: number } {
  const changes: Uint8Array[] = [];
  let offset = JOURNAL_HEADER_BYTES;
  while (offset < raw.length) {
    if (raw.length - offset < RECORD_HEADER_BYTES) break;
    const length = raw.readUInt32BE(offset);
    const end = offset + RECORD_HEADER_BYTES + length;
    if (end > raw.length) break;
    const change = raw.subarray(offset + RECORD_HEADER_BYTES, end);
    const computed = recordChecksum(journalHeader, raw.subarray(offset, offset + 4), change);
    if (!computed.equals(raw.subarray(offset + 4, offset + RECORD_HEADER_BYTES))) {
      if (end === raw.length) break;
      throw new RegistryCorruptError(
        `${location}: journal record at byte ${offset} fails its checksum`,
        location,
      );
    }
    changes.push(new Uint8Array(change));
    offset = end;
  }
  return { changes, goodBytes: offset };
}

function recordChecksum(journalHeader: Buffer, length: Buffer, change: Uint8Array): Buffer {
  return createHash('sha256').update(journalHeader).update(length).update(change).digest();
}

function checksum(header: Buffer, bytes: Uint8Array): Buffer {
  return createHash('sha256')
    .update(header.subarray(MAGIC.length, MAGIC.length + 12))
    .update(bytes)
    .digest();
}

export function tooLarge(bytes: number, bytesMax: number): RegistryWriteError {
  return {
    code: 'too_large',
    message: `registry is ${bytes} bytes; the limit (registryBytesMax) is ${bytesMax}`,
    bytes,
    bytesMax,
  };
}
