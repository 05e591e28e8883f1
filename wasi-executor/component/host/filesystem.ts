/**
 * wasi:filesystem/{types,preopens}, confined to the task's preopens: every
 * path goes through resolveInPreopen (no `..` above the root, no absolute
 * paths, symlinks expanded by us), files are opened with O_NOFOLLOW, and a
 * read-only preopen refuses every write with `read-only`. Directories are held
 * as paths below their preopen's root, files as open fds (closed when the
 * guest drops them, or when the task ends).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../../lib/assert.js';
import type { Preopen } from '../../types.js';
import { resolveInPreopen, type LinkReader } from './confine.js';
import { fsCall, fsErrorCode, fsFail, type FsErrorCode } from './errors.js';
import {
  IoError,
  InputStream,
  OutputStream,
  streamFailed,
  symbolDispose,
  type ByteSink,
  type ByteSource,
} from './streams.js';

type DescriptorType =
  | 'unknown'
  | 'block-device'
  | 'character-device'
  | 'directory'
  | 'fifo'
  | 'symbolic-link'
  | 'regular-file'
  | 'socket';

interface DescriptorFlags {
  read?: boolean;
  write?: boolean;
  fileIntegritySync?: boolean;
  dataIntegritySync?: boolean;
  requestedWriteSync?: boolean;
  mutateDirectory?: boolean;
}

interface PathFlags {
  symlinkFollow?: boolean;
}

interface OpenFlags {
  create?: boolean;
  directory?: boolean;
  exclusive?: boolean;
  truncate?: boolean;
}

interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}

type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };

interface DescriptorStat {
  type: DescriptorType;
  linkCount: bigint;
  size: bigint;
  dataAccessTimestamp?: Datetime;
  dataModificationTimestamp?: Datetime;
  statusChangeTimestamp?: Datetime;
}

/** Largest single file read handed to the guest: bounds one host allocation. */
const fileReadBytesMax = 1024 * 1024;

/** A preopen as the host holds it: its real path, and whether writes are granted. */
interface PreopenRoot {
  readonly hostRoot: string;
  readonly writable: boolean;
}

/** The task's open fds, so that the runner closes what the guest leaked. */
export class OpenFiles {
  private readonly fds = new Set<number>();

  add(fd: number): void {
    this.fds.add(fd);
  }

  close(fd: number): void {
    if (this.fds.delete(fd)) fs.closeSync(fd);
  }

  closeAll(): void {
    for (const fd of this.fds) fs.closeSync(fd);
    this.fds.clear();
  }
}

function hostPathOf(root: PreopenRoot, segments: readonly string[]): string {
  return segments.length === 0 ? root.hostRoot : join(root.hostRoot, ...segments);
}

function linkReader(root: PreopenRoot): LinkReader {
  return {
    readLink(segments) {
      const path = hostPathOf(root, segments);
      const stat = fs.lstatSync(path, { throwIfNoEntry: false });
      if (stat === undefined || !stat.isSymbolicLink()) return undefined;
      return fs.readlinkSync(path, 'utf8');
    },
  };
}

type TypeBits = Pick<
  fs.Stats,
  | 'isFile'
  | 'isDirectory'
  | 'isSymbolicLink'
  | 'isFIFO'
  | 'isSocket'
  | 'isCharacterDevice'
  | 'isBlockDevice'
>;

function typeOf(stat: TypeBits): DescriptorType {
  if (stat.isFile()) return 'regular-file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symbolic-link';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice()) return 'character-device';
  if (stat.isBlockDevice()) return 'block-device';
  return 'unknown';
}

function datetimeOf(ns: bigint): Datetime {
  return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
}

function statOf(stat: fs.BigIntStats): DescriptorStat {
  return {
    type: typeOf(stat),
    linkCount: stat.nlink,
    size: stat.size,
    dataAccessTimestamp: datetimeOf(stat.atimeNs),
    dataModificationTimestamp: datetimeOf(stat.mtimeNs),
    statusChangeTimestamp: datetimeOf(stat.ctimeNs),
  };
}

/** Seconds since the epoch, as fs.utimes takes them. */
function timeOf(timestamp: NewTimestamp, currentNs: bigint): number {
  switch (timestamp.tag) {
    case 'no-change':
      return Number(currentNs) / 1e9;
    case 'now':
      return Date.now() / 1000;
    case 'timestamp':
      return Number(timestamp.val.seconds) + timestamp.val.nanoseconds / 1e9;
  }
}

function fileSource(fd: number, offset: bigint): ByteSource {
  let position = offset;
  return {
    read(bytesMax) {
      const buffer = new Uint8Array(Math.min(bytesMax, fileReadBytesMax));
      let bytesRead: number;
      try {
        bytesRead = fs.readSync(fd, buffer, 0, buffer.length, position);
      } catch (error) {
        streamFailed(new IoError(String(error), fsErrorCode(error)));
      }
      if (bytesRead === 0) return undefined;
      position += BigInt(bytesRead);
      return buffer.subarray(0, bytesRead);
    },
  };
}

function fileSink(fd: number, offset: bigint | 'append'): ByteSink {
  let position = offset;
  return {
    write(bytes) {
      try {
        const at = position === 'append' ? fs.fstatSync(fd).size : Number(position);
        const written = fs.writeSync(fd, bytes, 0, bytes.length, at);
        if (position !== 'append') position += BigInt(written);
      } catch (error) {
        streamFailed(new IoError(String(error), fsErrorCode(error)));
      }
    },
  };
}

export class DirectoryEntryStream {
  private index = 0;

  constructor(private readonly entries: readonly fs.Dirent[]) {}

  readDirectoryEntry(): { type: DescriptorType; name: string } | undefined {
    const entry = this.entries[this.index];
    if (entry === undefined) return undefined;
    this.index += 1;
    return { type: typeOf(entry), name: entry.name };
  }
}

export class Descriptor {
  constructor(
    private readonly root: PreopenRoot,
    private readonly segments: readonly string[],
    private readonly type: DescriptorType,
    /** Set for everything but directories. */
    private readonly fd: number | undefined,
    private readonly flags: DescriptorFlags,
    private readonly openFiles: OpenFiles,
  ) {
    assert((fd === undefined) === (type === 'directory'), 'only directories are held without fd');
  }

  private get hostPath(): string {
    return hostPathOf(this.root, this.segments);
  }

  private resolve(path: string, followLast: boolean): string[] {
    if (this.type !== 'directory') fsFail('not-directory');
    const resolved = resolveInPreopen(this.segments, path, followLast, linkReader(this.root));
    if (!resolved.ok) fsFail(resolved.error);
    return resolved.value;
  }

  private at(path: string, pathFlags: PathFlags = {}): string {
    return hostPathOf(this.root, this.resolve(path, pathFlags.symlinkFollow === true));
  }

  /** The check for every operation that changes the directory tree. */
  private requireMutable(): void {
    if (this.type !== 'directory') fsFail('not-directory');
    if (!this.root.writable || this.flags.mutateDirectory !== true) fsFail('read-only');
  }

  private requireFile(access: 'read' | 'write'): number {
    if (this.fd === undefined) fsFail('is-directory');
    if (this.flags[access] !== true) fsFail('bad-descriptor');
    return this.fd;
  }

  private statNow(): fs.BigIntStats {
    return fsCall(() =>
      this.fd === undefined
        ? fs.statSync(this.hostPath, { bigint: true })
        : fs.fstatSync(this.fd, { bigint: true }),
    );
  }

  readViaStream(offset: bigint): InputStream {
    return new InputStream(fileSource(this.requireFile('read'), offset));
  }

  writeViaStream(offset: bigint): OutputStream {
    return new OutputStream(fileSink(this.requireFile('write'), offset));
  }

  appendViaStream(): OutputStream {
    return new OutputStream(fileSink(this.requireFile('write'), 'append'));
  }

  advise(): void {}

  syncData(): void {
    if (this.fd !== undefined) fsCall(() => fs.fdatasyncSync(this.fd!));
  }

  sync(): void {
    if (this.fd !== undefined) fsCall(() => fs.fsyncSync(this.fd!));
  }

  getFlags(): DescriptorFlags {
    return { ...this.flags };
  }

  getType(): DescriptorType {
    return this.type;
  }

  setSize(size: bigint): void {
    const fd = this.requireFile('write');
    fsCall(() => fs.ftruncateSync(fd, Number(size)));
  }

  setTimes(accessTime: NewTimestamp, modificationTime: NewTimestamp): void {
    if (this.fd === undefined) this.requireMutable();
    else this.requireFile('write');
    const current = this.statNow();
    const atime = timeOf(accessTime, current.atimeNs);
    const mtime = timeOf(modificationTime, current.mtimeNs);
    fsCall(() =>
      this.fd === undefined
        ? fs.utimesSync(this.hostPath, atime, mtime)
        : fs.futimesSync(this.fd, atime, mtime),
    );
  }

  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const fd = this.requireFile('read');
    const buffer = new Uint8Array(
      Number(length > BigInt(fileReadBytesMax) ? fileReadBytesMax : length),
    );
    const bytesRead = fsCall(() => fs.readSync(fd, buffer, 0, buffer.length, offset));
    return [buffer.subarray(0, bytesRead), bytesRead < buffer.length || bytesRead === 0];
  }

  write(buffer: Uint8Array, offset: bigint): bigint {
    const fd = this.requireFile('write');
    return BigInt(fsCall(() => fs.writeSync(fd, buffer, 0, buffer.length, Number(offset))));
  }

  readDirectory(): DirectoryEntryStream {
    if (this.type !== 'directory') fsFail('not-directory');
    return new DirectoryEntryStream(
      fsCall(() => fs.readdirSync(this.hostPath, { withFileTypes: true })),
    );
  }

  createDirectoryAt(path: string): void {
    this.requireMutable();
    fsCall(() => fs.mkdirSync(this.at(path)));
  }

  stat(): DescriptorStat {
    return statOf(this.statNow());
  }

  statAt(pathFlags: PathFlags, path: string): DescriptorStat {
    const target = this.at(path, pathFlags);
    return statOf(fsCall(() => fs.lstatSync(target, { bigint: true })));
  }

  setTimesAt(
    pathFlags: PathFlags,
    path: string,
    accessTime: NewTimestamp,
    modificationTime: NewTimestamp,
  ): void {
    this.requireMutable();
    const target = this.at(path, pathFlags);
    const current = fsCall(() => fs.lstatSync(target, { bigint: true }));
    const atime = timeOf(accessTime, current.atimeNs);
    const mtime = timeOf(modificationTime, current.mtimeNs);
    fsCall(() => fs.lutimesSync(target, atime, mtime));
  }

  linkAt(
    oldPathFlags: PathFlags,
    oldPath: string,
    newDescriptor: Descriptor,
    newPath: string,
  ): void {
    this.requireMutable();
    newDescriptor.requireMutable();
    const source = this.at(oldPath, oldPathFlags);
    const target = newDescriptor.at(newPath);
    fsCall(() => fs.linkSync(source, target));
  }

  openAt(
    pathFlags: PathFlags,
    path: string,
    openFlags: OpenFlags,
    flags: DescriptorFlags,
  ): Descriptor {
    const changes =
      flags.write === true || openFlags.create === true || openFlags.truncate === true;
    if (changes || flags.mutateDirectory === true) this.requireMutable();
    const segments = this.resolve(path, pathFlags.symlinkFollow === true);
    const target = hostPathOf(this.root, segments);
    const fd = fsCall(() => fs.openSync(target, openFlagsOf(openFlags, flags), 0o666));
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) {
      fs.closeSync(fd);
      if (flags.write === true) fsFail('is-directory');
      const mutate = this.root.writable && this.flags.mutateDirectory === true;
      return new Descriptor(
        this.root,
        segments,
        'directory',
        undefined,
        { read: true, mutateDirectory: mutate },
        this.openFiles,
      );
    }
    if (openFlags.directory === true) {
      fs.closeSync(fd);
      fsFail('not-directory');
    }
    this.openFiles.add(fd);
    const fileFlags = { read: flags.read === true, write: flags.write === true };
    return new Descriptor(this.root, segments, typeOf(stat), fd, fileFlags, this.openFiles);
  }

  readlinkAt(path: string): string {
    const target = this.at(path);
    return fsCall(() => fs.readlinkSync(target, 'utf8'));
  }

  removeDirectoryAt(path: string): void {
    this.requireMutable();
    const target = this.at(path);
    fsCall(() => fs.rmdirSync(target));
  }

  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    this.requireMutable();
    newDescriptor.requireMutable();
    const source = this.at(oldPath);
    const target = newDescriptor.at(newPath);
    fsCall(() => fs.renameSync(source, target));
  }

  /** A symlink may only point inside the preopen, judged from where it is created. */
  symlinkAt(oldPath: string, newPath: string): void {
    this.requireMutable();
    const linkSegments = this.resolve(newPath, false);
    const noLinks: LinkReader = { readLink: () => undefined };
    const pointsTo = resolveInPreopen(linkSegments.slice(0, -1), oldPath, false, noLinks);
    if (!pointsTo.ok) fsFail(pointsTo.error === 'no-entry' ? 'no-entry' : 'not-permitted');
    fsCall(() => fs.symlinkSync(oldPath, hostPathOf(this.root, linkSegments)));
  }

  unlinkFileAt(path: string): void {
    this.requireMutable();
    const target = this.at(path);
    fsCall(() => fs.unlinkSync(target));
  }

  isSameObject(other: Descriptor): boolean {
    const mine = this.statNow();
    const theirs = other.statNow();
    return mine.dev === theirs.dev && mine.ino === theirs.ino;
  }

  metadataHash(): { lower: bigint; upper: bigint } {
    const stat = this.statNow();
    return { lower: stat.ino, upper: stat.dev };
  }

  metadataHashAt(pathFlags: PathFlags, path: string): { lower: bigint; upper: bigint } {
    const target = this.at(path, pathFlags);
    const stat = fsCall(() => fs.lstatSync(target, { bigint: true }));
    return { lower: stat.ino, upper: stat.dev };
  }

  /** Called by the glue when the guest drops its handle. */
  close(): void {
    if (this.fd !== undefined) this.openFiles.close(this.fd);
  }
}

Object.defineProperty(Descriptor.prototype, symbolDispose, {
  value(this: Descriptor) {
    this.close();
  },
});

function openFlagsOf(openFlags: OpenFlags, flags: DescriptorFlags): number {
  const { constants } = fs;
  const access =
    flags.write === true
      ? flags.read === true
        ? constants.O_RDWR
        : constants.O_WRONLY
      : constants.O_RDONLY;
  let bits = access | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  if (openFlags.create === true) bits |= constants.O_CREAT;
  if (openFlags.exclusive === true) bits |= constants.O_EXCL;
  if (openFlags.truncate === true) bits |= constants.O_TRUNC;
  if (openFlags.directory === true) bits |= constants.O_DIRECTORY;
  return bits;
}

/** filesystem-error-code: the code behind a stream's last-operation-failed. */
function filesystemErrorCode(error: IoError): FsErrorCode | undefined {
  return error.fsCode;
}

export function createFilesystem(preopens: readonly Preopen[], openFiles: OpenFiles) {
  let directories: [Descriptor, string][] | undefined;
  const getDirectories = (): [Descriptor, string][] => {
    directories ??= preopens.map((preopen) => {
      const root = { hostRoot: fs.realpathSync(preopen.hostPath), writable: preopen.writable };
      const flags = { read: true, mutateDirectory: preopen.writable };
      return [
        new Descriptor(root, [], 'directory', undefined, flags, openFiles),
        preopen.guestPath,
      ];
    });
    return directories;
  };
  return {
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode },
    'wasi:filesystem/preopens': { getDirectories },
  };
}
