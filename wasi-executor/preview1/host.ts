/**
 * Our WASI preview1 host (wasi_snapshot_preview1), synchronous, built fresh
 * for each task from its GuestSpec. Everything the guest reaches goes through
 * here: args and env from the spec, stdin from the spec's bytes, stdout and
 * stderr into capped sinks, files only below the preopens (paths.ts), no
 * sockets at all. No state lives outside the object this returns.
 */
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import { assert } from '../../lib/assert.js';
import { GuestExit, type GuestSpec, type OutputSink } from '../guest.js';
import { Errno, WasiError, errnoOf, isHostError, type ErrnoValue } from './errno.js';
import { FdTable, type FdEntry } from './fd-table.js';
import { GuestMemory, encodeUtf8 } from './memory.js';
import { hostPathOf, resolveConfined, symlinkTargetStaysInside, type DirHandle } from './paths.js';
import { sleepMs } from './sleep.js';

const FILETYPE = { UNKNOWN: 0, CHAR: 2, DIR: 3, FILE: 4, SYMLINK: 7 } as const;
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const FDFLAGS = { APPEND: 1, NONBLOCK: 4 } as const;
const LOOKUP_SYMLINK_FOLLOW = 1;
const RIGHT = {
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_READDIR: 1n << 14n,
  POLL: 1n << 27n,
} as const;
const RIGHTS_ALL = (1n << 30n) - 1n;
/** Rights that change the filesystem: a read-only preopen never grants them. */
const RIGHTS_WRITING =
  RIGHT.FD_WRITE |
  (1n << 0n) | // fd_datasync
  (1n << 8n) | // fd_allocate
  (1n << 9n) | // path_create_directory
  (1n << 10n) | // path_create_file
  (1n << 12n) | // path_link_target
  (1n << 17n) | // path_rename_target
  (1n << 19n) | // path_filestat_set_size
  (1n << 20n) | // path_filestat_set_times
  (1n << 22n) | // fd_filestat_set_size
  (1n << 23n) | // fd_filestat_set_times
  (1n << 24n) | // path_symlink
  (1n << 25n) | // path_remove_directory
  (1n << 26n); // path_unlink_file
const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;
const CLOCK_RESOLUTION_NS = 1_000n;
const DIRENT_HEADER_BYTES = 24;
const EVENT_BYTES = 32;
const SUBSCRIPTION_BYTES = 48;

export interface Preview1HostOptions {
  readonly spec: GuestSpec;
  readonly stdout: OutputSink;
  readonly stderr: OutputSink;
  /** Called on host calls that may come after long guest work: lets the worker record progress. */
  readonly onProgress: () => void;
}

export interface Preview1Host {
  /** The `wasi_snapshot_preview1` import object. */
  readonly imports: Record<string, (...args: never[]) => number>;
  /** The guest's memory becomes known only after instantiation. */
  bindMemory(memory: WebAssembly.Memory): void;
  close(): void;
}

function requireWritable(dir: DirHandle): void {
  if (!dir.writable) throw new WasiError(Errno.NOTCAPABLE);
}

function filetypeOf(stats: fs.BigIntStats): number {
  if (stats.isFile()) return FILETYPE.FILE;
  if (stats.isDirectory()) return FILETYPE.DIR;
  if (stats.isSymbolicLink()) return FILETYPE.SYMLINK;
  if (stats.isCharacterDevice()) return FILETYPE.CHAR;
  return FILETYPE.UNKNOWN;
}

/** `K=V` strings and argv as the guest stores them: NUL-terminated UTF-8. */
function encodeStrings(strings: readonly string[]): Uint8Array[] {
  return strings.map((text) => encodeUtf8(text + '\0'));
}

export function createPreview1Host(options: Preview1HostOptions): Preview1Host {
  const { spec, stdout, stderr, onProgress } = options;
  const fds = new FdTable();
  for (const preopen of spec.preopens) {
    fds.add({
      kind: 'dir',
      dir: { rootHostPath: preopen.hostPath, parts: [], writable: preopen.writable },
      preopenName: preopen.guestPath,
      listing: undefined,
    });
  }
  const argv = encodeStrings([spec.programName, ...spec.args]);
  const environ = encodeStrings(Object.entries(spec.env).map(([key, value]) => `${key}=${value}`));
  const startedNs = process.hrtime.bigint();
  let stdinOffset = 0;
  let memory: GuestMemory | undefined;
  const mem = (): GuestMemory => {
    assert(memory !== undefined, 'preview1 call before the memory was bound');
    return memory;
  };

  const writeStrings = (strings: Uint8Array[], pointersAt: number, bytesAt: number): void => {
    let cursor = bytesAt;
    strings.forEach((bytes, index) => {
      mem().setU32(pointersAt + index * 4, cursor);
      mem().bytes(cursor, bytes.length).set(bytes);
      cursor += bytes.length;
    });
  };
  const writeSizes = (strings: Uint8Array[], countAt: number, bytesAt: number): void => {
    mem().setU32(countAt, strings.length);
    mem().setU32(
      bytesAt,
      strings.reduce((sum, bytes) => sum + bytes.length, 0),
    );
  };

  const readPath = (pointer: number, length: number): string => mem().string(pointer, length);

  const fileEntry = (fd: number): Extract<FdEntry, { kind: 'file' }> => {
    const entry = fds.get(fd);
    if (entry.kind === 'dir') throw new WasiError(Errno.ISDIR);
    if (entry.kind !== 'file') throw new WasiError(Errno.SPIPE);
    return entry;
  };

  const writeFilestat = (pointer: number, stats: fs.BigIntStats): void => {
    const m = mem();
    m.view(pointer, 64);
    m.setU64(pointer, stats.dev);
    m.setU64(pointer + 8, stats.ino);
    m.setU8(pointer + 16, filetypeOf(stats));
    m.setU64(pointer + 24, stats.nlink);
    m.setU64(pointer + 32, stats.size);
    m.setU64(pointer + 40, stats.atimeNs);
    m.setU64(pointer + 48, stats.mtimeNs);
    m.setU64(pointer + 56, stats.ctimeNs);
  };

  const readInto = (entry: FdEntry, buffers: Uint8Array[], at: number | undefined): number => {
    let total = 0;
    if (entry.kind === 'stdin') {
      for (const buffer of buffers) {
        const chunk = spec.stdin.subarray(stdinOffset, stdinOffset + buffer.length);
        buffer.set(chunk);
        stdinOffset += chunk.length;
        total += chunk.length;
        if (chunk.length < buffer.length) break;
      }
      return total;
    }
    if (entry.kind === 'dir') throw new WasiError(Errno.ISDIR);
    if (entry.kind !== 'file') throw new WasiError(Errno.BADF);
    if (!entry.readable) throw new WasiError(Errno.BADF);
    let position = at ?? entry.position;
    for (const buffer of buffers) {
      const count = fs.readSync(entry.hostFd, buffer, 0, buffer.length, position);
      position += count;
      total += count;
      if (count < buffer.length) break;
    }
    if (at === undefined) entry.position = position;
    return total;
  };

  const writeFrom = (entry: FdEntry, buffers: Uint8Array[], at: number | undefined): number => {
    let total = 0;
    if (entry.kind === 'stdout' || entry.kind === 'stderr') {
      const sink = entry.kind === 'stdout' ? stdout : stderr;
      for (const buffer of buffers) {
        if (buffer.length === 0) continue;
        sink.write(buffer.slice());
        total += buffer.length;
      }
      return total;
    }
    if (entry.kind === 'dir') throw new WasiError(Errno.ISDIR);
    if (entry.kind !== 'file' || !entry.writable) throw new WasiError(Errno.BADF);
    // With O_APPEND the kernel writes at the end whatever position is given.
    let position: number | null = at ?? (entry.append ? null : entry.position);
    for (const buffer of buffers) {
      const count = fs.writeSync(entry.hostFd, buffer, 0, buffer.length, position);
      total += count;
      if (position !== null) position += count;
    }
    if (at === undefined) {
      entry.position = entry.append ? fs.fstatSync(entry.hostFd).size : entry.position + total;
    }
    return total;
  };

  const openAt = (
    dirFd: number,
    lookupFlags: number,
    path: string,
    oflags: number,
    rightsBase: bigint,
    fdflags: number,
  ): number => {
    const { dir } = fds.dir(dirFd);
    const readable = (rightsBase & (RIGHT.FD_READ | RIGHT.FD_READDIR)) !== 0n;
    const writable = (rightsBase & RIGHT.FD_WRITE) !== 0n;
    const creates = (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0;
    if (writable || creates || (fdflags & FDFLAGS.APPEND) !== 0) requireWritable(dir);
    const parts = resolveConfined(dir, path, (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    const hostPath = hostPathOf(dir.rootHostPath, parts);
    let flags = fs.constants.O_NOFOLLOW;
    flags |= writable ? (readable ? fs.constants.O_RDWR : fs.constants.O_WRONLY) : 0;
    if (oflags & OFLAGS.CREAT) flags |= fs.constants.O_CREAT;
    if (oflags & OFLAGS.EXCL) flags |= fs.constants.O_EXCL;
    if (oflags & OFLAGS.TRUNC) flags |= fs.constants.O_TRUNC;
    if (oflags & OFLAGS.DIRECTORY) flags |= fs.constants.O_DIRECTORY;
    if (fdflags & FDFLAGS.APPEND) flags |= fs.constants.O_APPEND;
    const hostFd = fs.openSync(hostPath, flags, 0o644);
    let isDirectory: boolean;
    try {
      isDirectory = fs.fstatSync(hostFd).isDirectory();
    } catch (error) {
      fs.closeSync(hostFd);
      throw error;
    }
    if (isDirectory) {
      fs.closeSync(hostFd);
      return fds.add({
        kind: 'dir',
        dir: { rootHostPath: dir.rootHostPath, parts, writable: dir.writable },
        preopenName: undefined,
        listing: undefined,
      });
    }
    return fds.add({
      kind: 'file',
      hostFd,
      hostPath,
      readable,
      writable,
      append: (fdflags & FDFLAGS.APPEND) !== 0,
      position: 0,
    });
  };

  const readdirInto = (fd: number, pointer: number, length: number, cookie: bigint): number => {
    const entry = fds.dir(fd);
    const hostPath = hostPathOf(entry.dir.rootHostPath, entry.dir.parts);
    if (cookie === 0n || entry.listing === undefined) {
      entry.listing = ['.', '..', ...fs.readdirSync(hostPath).sort()];
    }
    const listing = entry.listing;
    let used = 0;
    for (let index = Number(cookie); index < listing.length && used < length; index++) {
      const name = listing[index]!;
      const nameBytes = encodeUtf8(name);
      const record = new Uint8Array(DIRENT_HEADER_BYTES + nameBytes.length);
      const view = new DataView(record.buffer);
      let ino = 0n;
      let type: number = FILETYPE.UNKNOWN;
      try {
        const stats = fs.lstatSync(`${hostPath}/${name}`, { bigint: true });
        ino = stats.ino;
        type = filetypeOf(stats);
      } catch {
        // Removed since the listing was taken: listed with what is known.
      }
      view.setBigUint64(0, BigInt(index + 1), true);
      view.setBigUint64(8, ino, true);
      view.setUint32(16, nameBytes.length, true);
      view.setUint8(20, type);
      record.set(nameBytes, DIRENT_HEADER_BYTES);
      const fits = Math.min(record.length, length - used);
      mem()
        .bytes(pointer + used, fits)
        .set(record.subarray(0, fits));
      used += fits;
    }
    return used;
  };

  const fdstatOf = (entry: FdEntry): [number, number, bigint, bigint] => {
    switch (entry.kind) {
      case 'stdin':
        return [FILETYPE.UNKNOWN, 0, RIGHT.FD_READ | RIGHT.POLL, 0n];
      case 'stdout':
      case 'stderr':
        return [FILETYPE.UNKNOWN, FDFLAGS.APPEND, RIGHT.FD_WRITE | RIGHT.POLL, 0n];
      case 'dir': {
        const rights = entry.dir.writable ? RIGHTS_ALL : RIGHTS_ALL & ~RIGHTS_WRITING;
        return [FILETYPE.DIR, 0, rights & ~(RIGHT.FD_READ | RIGHT.FD_WRITE), rights];
      }
      case 'file': {
        let rights = RIGHTS_ALL & ~(RIGHT.FD_READ | RIGHTS_WRITING | RIGHT.FD_READDIR);
        if (entry.readable) rights |= RIGHT.FD_READ;
        if (entry.writable) rights |= RIGHTS_WRITING;
        return [FILETYPE.FILE, entry.append ? FDFLAGS.APPEND : 0, rights, 0n];
      }
    }
  };

  const timeNs = (clockId: number): bigint => {
    switch (clockId) {
      case CLOCK.REALTIME:
        return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      case CLOCK.MONOTONIC:
        return process.hrtime.bigint();
      case CLOCK.PROCESS_CPUTIME:
      case CLOCK.THREAD_CPUTIME:
        return process.hrtime.bigint() - startedNs;
      default:
        throw new WasiError(Errno.INVAL);
    }
  };

  const pollOneoff = (inAt: number, outAt: number, count: number): number => {
    if (count === 0) throw new WasiError(Errno.INVAL);
    const m = mem();
    let events = 0;
    let soonestNs: bigint | undefined;
    const clocks: Array<{ userdata: bigint; deadlineNs: bigint }> = [];
    const emit = (userdata: bigint, error: number, type: number): void => {
      const at = outAt + events * EVENT_BYTES;
      m.bytes(at, EVENT_BYTES).fill(0);
      m.setU64(at, userdata);
      m.setU16(at + 8, error);
      m.setU8(at + 10, type);
      events += 1;
    };
    for (let index = 0; index < count; index++) {
      const at = inAt + index * SUBSCRIPTION_BYTES;
      const userdata = m.u64(at);
      const tag = m.u8(at + 8);
      if (tag === 0) {
        const clockId = m.u32(at + 16);
        const timeout = m.u64(at + 24);
        const absolute = (m.u16(at + 40) & 1) !== 0;
        const now = timeNs(clockId);
        const deadlineNs = absolute ? timeout : now + timeout;
        clocks.push({ userdata, deadlineNs: deadlineNs - now + process.hrtime.bigint() });
        const waitNs = deadlineNs - now;
        soonestNs = soonestNs === undefined || waitNs < soonestNs ? waitNs : soonestNs;
      } else if (tag === 1 || tag === 2) {
        // Files, stdin bytes and capped sinks never block: always ready.
        const fd = m.u32(at + 16);
        emit(userdata, fds.has(fd) ? Errno.SUCCESS : Errno.BADF, tag);
      } else {
        throw new WasiError(Errno.INVAL);
      }
    }
    if (events === 0 && soonestNs !== undefined && soonestNs > 0n) {
      sleepMs(Number(soonestNs / 1_000_000n));
    }
    if (events === 0) {
      const nowNs = process.hrtime.bigint();
      for (const clock of clocks) {
        if (clock.deadlineNs <= nowNs + 1_000_000n) emit(clock.userdata, Errno.SUCCESS, 0);
      }
    }
    return events;
  };

  const calls = {
    args_get: (argvAt: number, bufAt: number) => writeStrings(argv, argvAt, bufAt),
    args_sizes_get: (countAt: number, bytesAt: number) => writeSizes(argv, countAt, bytesAt),
    environ_get: (envAt: number, bufAt: number) => writeStrings(environ, envAt, bufAt),
    environ_sizes_get: (countAt: number, bytesAt: number) => writeSizes(environ, countAt, bytesAt),
    clock_res_get: (clockId: number, resultAt: number) => {
      timeNs(clockId);
      mem().setU64(resultAt, CLOCK_RESOLUTION_NS);
    },
    clock_time_get: (clockId: number, _precision: bigint, resultAt: number) => {
      onProgress();
      mem().setU64(resultAt, timeNs(clockId));
    },
    fd_advise: (fd: number) => void fileEntry(fd),
    fd_allocate: (fd: number, offset: bigint, length: bigint) => {
      const entry = fileEntry(fd);
      if (!entry.writable) throw new WasiError(Errno.BADF);
      const wanted = Number(offset + length);
      if (fs.fstatSync(entry.hostFd).size < wanted) fs.ftruncateSync(entry.hostFd, wanted);
    },
    fd_close: (fd: number) => fds.close(fd),
    fd_datasync: (fd: number) => fs.fdatasyncSync(fileEntry(fd).hostFd),
    fd_sync: (fd: number) => fs.fsyncSync(fileEntry(fd).hostFd),
    fd_fdstat_get: (fd: number, resultAt: number) => {
      const [filetype, flags, base, inheriting] = fdstatOf(fds.get(fd));
      const m = mem();
      m.bytes(resultAt, 24).fill(0);
      m.setU8(resultAt, filetype);
      m.setU16(resultAt + 2, flags);
      m.setU64(resultAt + 8, base);
      m.setU64(resultAt + 16, inheriting);
    },
    fd_fdstat_set_flags: (fd: number, flags: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'file') {
        if ((flags & ~FDFLAGS.NONBLOCK) !== 0) throw new WasiError(Errno.NOTSUP);
        return;
      }
      if ((flags & ~(FDFLAGS.APPEND | FDFLAGS.NONBLOCK)) !== 0) throw new WasiError(Errno.NOTSUP);
      entry.append = (flags & FDFLAGS.APPEND) !== 0;
    },
    fd_fdstat_set_rights: (fd: number) => void fds.get(fd),
    fd_filestat_get: (fd: number, resultAt: number) => {
      const entry = fds.get(fd);
      if (entry.kind === 'file')
        return writeFilestat(resultAt, fs.fstatSync(entry.hostFd, { bigint: true }));
      if (entry.kind === 'dir') {
        const path = hostPathOf(entry.dir.rootHostPath, entry.dir.parts);
        return writeFilestat(resultAt, fs.statSync(path, { bigint: true }));
      }
      mem().bytes(resultAt, 64).fill(0);
      mem().setU8(resultAt + 16, FILETYPE.CHAR);
    },
    fd_filestat_set_size: (fd: number, size: bigint) => {
      const entry = fileEntry(fd);
      if (!entry.writable) throw new WasiError(Errno.BADF);
      fs.ftruncateSync(entry.hostFd, Number(size));
    },
    fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, flags: number) => {
      const entry = fileEntry(fd);
      if (!entry.writable) throw new WasiError(Errno.BADF);
      const stats = fs.fstatSync(entry.hostFd, { bigint: true });
      const [atime, mtime] = chooseTimes(stats, atim, mtim, flags);
      fs.futimesSync(entry.hostFd, atime, mtime);
    },
    fd_pread: (fd: number, iovs: number, count: number, offset: bigint, resultAt: number) => {
      const entry = fileEntry(fd);
      mem().setU32(resultAt, readInto(entry, mem().iovecs(iovs, count), Number(offset)));
    },
    fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, resultAt: number) => {
      const entry = fileEntry(fd);
      mem().setU32(resultAt, writeFrom(entry, mem().iovecs(iovs, count), Number(offset)));
    },
    fd_read: (fd: number, iovs: number, count: number, resultAt: number) => {
      onProgress();
      const entry = fds.get(fd);
      mem().setU32(resultAt, readInto(entry, mem().iovecs(iovs, count), undefined));
    },
    fd_write: (fd: number, iovs: number, count: number, resultAt: number) => {
      onProgress();
      const entry = fds.get(fd);
      mem().setU32(resultAt, writeFrom(entry, mem().iovecs(iovs, count), undefined));
    },
    fd_prestat_get: (fd: number, resultAt: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopenName === undefined) throw new WasiError(Errno.BADF);
      mem().setU32(resultAt, 0);
      mem().setU32(resultAt + 4, encodeUtf8(entry.preopenName).length);
    },
    fd_prestat_dir_name: (fd: number, pathAt: number, length: number) => {
      const entry = fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopenName === undefined) throw new WasiError(Errno.BADF);
      const name = encodeUtf8(entry.preopenName);
      if (length < name.length) throw new WasiError(Errno.NAMETOOLONG);
      mem().bytes(pathAt, name.length).set(name);
    },
    fd_readdir: (fd: number, bufAt: number, length: number, cookie: bigint, resultAt: number) => {
      mem().setU32(resultAt, readdirInto(fd, bufAt, length, cookie));
    },
    fd_renumber: (from: number, to: number) => fds.renumber(from, to),
    fd_seek: (fd: number, offset: bigint, whence: number, resultAt: number) => {
      const entry = fileEntry(fd);
      let base: number;
      if (whence === 0) base = 0;
      else if (whence === 1) base = entry.position;
      else if (whence === 2) base = fs.fstatSync(entry.hostFd).size;
      else throw new WasiError(Errno.INVAL);
      const target = base + Number(offset);
      if (target < 0) throw new WasiError(Errno.INVAL);
      entry.position = target;
      mem().setU64(resultAt, BigInt(target));
    },
    fd_tell: (fd: number, resultAt: number) => {
      mem().setU64(resultAt, BigInt(fileEntry(fd).position));
    },
    path_create_directory: (fd: number, pathAt: number, length: number) => {
      const { dir } = fds.dir(fd);
      requireWritable(dir);
      const parts = resolveConfined(dir, readPath(pathAt, length), false);
      fs.mkdirSync(hostPathOf(dir.rootHostPath, parts));
    },
    path_filestat_get: (
      fd: number,
      flags: number,
      pathAt: number,
      length: number,
      resultAt: number,
    ) => {
      const { dir } = fds.dir(fd);
      const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      const parts = resolveConfined(dir, readPath(pathAt, length), follow);
      writeFilestat(resultAt, fs.lstatSync(hostPathOf(dir.rootHostPath, parts), { bigint: true }));
    },
    path_filestat_set_times: (
      fd: number,
      flags: number,
      pathAt: number,
      length: number,
      atim: bigint,
      mtim: bigint,
      fstFlags: number,
    ) => {
      const { dir } = fds.dir(fd);
      requireWritable(dir);
      const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      const hostPath = hostPathOf(
        dir.rootHostPath,
        resolveConfined(dir, readPath(pathAt, length), follow),
      );
      const stats = fs.lstatSync(hostPath, { bigint: true });
      const [atime, mtime] = chooseTimes(stats, atim, mtim, fstFlags);
      fs.lutimesSync(hostPath, atime, mtime);
    },
    path_link: (
      oldFd: number,
      oldFlags: number,
      oldAt: number,
      oldLength: number,
      newFd: number,
      newAt: number,
      newLength: number,
    ) => {
      const source = fds.dir(oldFd).dir;
      const target = fds.dir(newFd).dir;
      requireWritable(target);
      const follow = (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      const sourceParts = resolveConfined(source, readPath(oldAt, oldLength), follow);
      const targetParts = resolveConfined(target, readPath(newAt, newLength), false);
      fs.linkSync(
        hostPathOf(source.rootHostPath, sourceParts),
        hostPathOf(target.rootHostPath, targetParts),
      );
    },
    path_open: (
      fd: number,
      lookupFlags: number,
      pathAt: number,
      length: number,
      oflags: number,
      rightsBase: bigint,
      _rightsInheriting: bigint,
      fdflags: number,
      resultAt: number,
    ) => {
      const path = readPath(pathAt, length);
      mem().setU32(resultAt, openAt(fd, lookupFlags, path, oflags, rightsBase, fdflags));
    },
    path_readlink: (
      fd: number,
      pathAt: number,
      length: number,
      bufAt: number,
      bufLength: number,
      resultAt: number,
    ) => {
      const { dir } = fds.dir(fd);
      const parts = resolveConfined(dir, readPath(pathAt, length), false);
      const target = encodeUtf8(fs.readlinkSync(hostPathOf(dir.rootHostPath, parts)));
      const count = Math.min(target.length, bufLength);
      mem().bytes(bufAt, count).set(target.subarray(0, count));
      mem().setU32(resultAt, count);
    },
    path_remove_directory: (fd: number, pathAt: number, length: number) => {
      const { dir } = fds.dir(fd);
      requireWritable(dir);
      const parts = resolveConfined(dir, readPath(pathAt, length), false);
      if (parts.length === 0) throw new WasiError(Errno.BUSY);
      fs.rmdirSync(hostPathOf(dir.rootHostPath, parts));
    },
    path_rename: (
      oldFd: number,
      oldAt: number,
      oldLength: number,
      newFd: number,
      newAt: number,
      newLength: number,
    ) => {
      const source = fds.dir(oldFd).dir;
      const target = fds.dir(newFd).dir;
      requireWritable(source);
      requireWritable(target);
      const sourceParts = resolveConfined(source, readPath(oldAt, oldLength), false);
      const targetParts = resolveConfined(target, readPath(newAt, newLength), false);
      if (sourceParts.length === 0 || targetParts.length === 0) throw new WasiError(Errno.BUSY);
      fs.renameSync(
        hostPathOf(source.rootHostPath, sourceParts),
        hostPathOf(target.rootHostPath, targetParts),
      );
    },
    path_symlink: (
      oldAt: number,
      oldLength: number,
      fd: number,
      newAt: number,
      newLength: number,
    ) => {
      const { dir } = fds.dir(fd);
      requireWritable(dir);
      const linkTarget = readPath(oldAt, oldLength);
      const parts = resolveConfined(dir, readPath(newAt, newLength), false);
      // A link leading out of the preopen is refused even though we would never follow it:
      // other readers of this directory (the agent, an operator) might.
      if (!symlinkTargetStaysInside(parts.slice(0, -1), linkTarget))
        throw new WasiError(Errno.PERM);
      fs.symlinkSync(linkTarget, hostPathOf(dir.rootHostPath, parts));
    },
    path_unlink_file: (fd: number, pathAt: number, length: number) => {
      const { dir } = fds.dir(fd);
      requireWritable(dir);
      const parts = resolveConfined(dir, readPath(pathAt, length), false);
      const hostPath = hostPathOf(dir.rootHostPath, parts);
      if (fs.lstatSync(hostPath).isDirectory()) throw new WasiError(Errno.ISDIR);
      fs.unlinkSync(hostPath);
    },
    poll_oneoff: (inAt: number, outAt: number, count: number, resultAt: number) => {
      onProgress();
      mem().setU32(resultAt, pollOneoff(inAt, outAt, count));
    },
    proc_exit: (code: number): never => {
      throw new GuestExit(code);
    },
    proc_raise: () => {
      throw new WasiError(Errno.NOSYS);
    },
    sched_yield: () => onProgress(),
    random_get: (bufAt: number, length: number) => {
      randomFillSync(mem().bytes(bufAt, length));
    },
    // No socket is ever handed out: every socket call names a bad or non-socket descriptor.
    sock_accept: (fd: number) => notASocket(fds, fd),
    sock_recv: (fd: number) => notASocket(fds, fd),
    sock_send: (fd: number) => notASocket(fds, fd),
    sock_shutdown: (fd: number) => notASocket(fds, fd),
  };

  const imports: Record<string, (...args: never[]) => number> = {};
  for (const [name, call] of Object.entries(calls) as [string, (...args: never[]) => unknown][]) {
    imports[name] = (...args: never[]): number => {
      try {
        call(...args);
        return Errno.SUCCESS;
      } catch (error) {
        if (isHostError(error)) return errnoOf(error);
        throw error;
      }
    };
  }
  return {
    imports,
    bindMemory: (guestMemory) => {
      memory = new GuestMemory(guestMemory);
    },
    close: () => fds.closeAll(),
  };
}

function notASocket(fds: FdTable, fd: number): never {
  fds.get(fd);
  throw new WasiError(Errno.NOTSOCK as ErrnoValue);
}

/** fst_flags: ATIM=1, ATIM_NOW=2, MTIM=4, MTIM_NOW=8; times in seconds for node's utimes. */
function chooseTimes(
  stats: fs.BigIntStats,
  atim: bigint,
  mtim: bigint,
  flags: number,
): [number, number] {
  if ((flags & 3) === 3 || (flags & 12) === 12) throw new WasiError(Errno.INVAL);
  const nowS = Date.now() / 1000;
  const toS = (ns: bigint): number => Number(ns) / 1e9;
  const atime = flags & 2 ? nowS : flags & 1 ? toS(atim) : toS(stats.atimeNs);
  const mtime = flags & 8 ? nowS : flags & 4 ? toS(mtim) : toS(stats.mtimeNs);
  return [atime, mtime];
}
