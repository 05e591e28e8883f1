import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
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
const TEMP_PREFIX = `${REGISTRY_FILE_NAME}.tmp-`;

/**
 * File layout: MAGIC (8) | counter u64 BE (8) | length u32 BE (4) | sha256(counter|length|bytes)
 * (32) | bytes. The checksum covers the header fields too, so a torn or bit-flipped file is
 * detected rather than read as something else.
 */
const MAGIC = Buffer.from('WSREG001', 'ascii');
const HEADER_BYTES = MAGIC.length + 8 + 4 + 32;

interface Decoded {
  readonly counter: bigint;
  readonly bytes: Uint8Array;
  readonly version: RegistryVersion;
}

/**
 * The single master's registry: one file in the work dir, replaced crash-safely (temp file,
 * fsync, rename, fsync of the directory). The version is a counter that grows with every
 * write plus a prefix of the checksum; a write names the version it replaces.
 */
export class FileRegistryStore implements RegistryStore {
  private readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly workDir: string,
    private readonly limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
  ) {
    checkRegistryLimits(limits);
    this.path = join(workDir, REGISTRY_FILE_NAME);
  }

  load(): Promise<StoredRegistry | undefined> {
    return this.serialized(async () => {
      await this.removeTempFiles();
      const decoded = await this.readCurrent();
      return decoded && { bytes: decoded.bytes, version: decoded.version };
    });
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
    let current: Decoded | undefined;
    try {
      current = await this.readCurrent();
    } catch (error) {
      return err({ code: 'unavailable', message: `cannot read the registry: ${String(error)}` });
    }
    if (current?.version !== expected) {
      return err({
        code: 'conflict',
        message: `registry is at version ${current?.version ?? 'none'}, not ${expected ?? 'none'}`,
      });
    }
    const counter = (current?.counter ?? 0n) + 1n;
    const encoded = encodeRegistryFile(counter, bytes);
    try {
      await this.replaceDurably(encoded);
    } catch (error) {
      return err({ code: 'unavailable', message: `cannot write the registry: ${String(error)}` });
    }
    return ok(decodeRegistryFile(encoded, this.path).version);
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

  private async replaceDurably(encoded: Uint8Array): Promise<void> {
    const tempPath = join(this.workDir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const file = await open(tempPath, 'wx', 0o600);
    try {
      await file.writeFile(encoded);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tempPath, this.path);
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
      if (name.startsWith(TEMP_PREFIX))
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
