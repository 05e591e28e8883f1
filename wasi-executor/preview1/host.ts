/**
 * Our WASI preview1 host (wasi_snapshot_preview1), synchronous, built fresh
 * for each task from its GuestSpec. Everything the guest reaches goes through
 * here: args and env from the spec, stdin from the spec's bytes, stdout and
 * stderr into capped sinks, files only below the preopens (paths.ts), no
 * sockets at all. No state lives outside the object this returns.
 */
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import { GuestExit, type GuestSpec, type OutputSink } from '../guest.js';
import { Errno, WasiError, errnoOf, isHostError, type ErrnoValue } from './errno.js';
import { FdTable } from './fd-table.js';
import { GuestMemory, encodeUtf8 } from './memory.js';
import { hostPathOf, resolveConfined, symlinkTargetStaysInside } from './paths.js';
import {
  CLOCK_RESOLUTION_NS,
  FDFLAGS,
  FILETYPE,
  type HostState,
  LOOKUP_SYMLINK_FOLLOW,
  encodeStrings,
  fdstatOf,
  fileEntry,
  mem,
  openAt,
  pollOneoff,
  readInto,
  readPath,
  readdirInto,
  requireWritable,
  timeNs,
  writeFilestat,
  writeFrom,
  writeSizes,
  writeStrings,
} from './operations.js';

export interface Preview1HostOptions {
  readonly spec: GuestSpec;
  readonly stdout: OutputSink;
  readonly stderr: OutputSink;
  /** Called on host calls that may come after long guest work: lets the worker record progress. */
  readonly onProgress: () => void;
  /** Called before poll_oneoff sleeps: held output goes out rather than wait for the wake-up. */
  readonly beforeBlocking?: () => void;
}

export interface Preview1Host {
  /** The `wasi_snapshot_preview1` import object. */
  readonly imports: Record<string, (...args: never[]) => number>;
  /** The guest's memory becomes known only after instantiation. */
  bindMemory(memory: WebAssembly.Memory): void;
  close(): void;
}

export function createPreview1Host(options: Preview1HostOptions): Preview1Host {
  const { spec, stdout, stderr, onProgress, beforeBlocking } = options;
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
  const state: HostState = {
    spec,
    stdout,
    stderr,
    fds,
    startedNs: process.hrtime.bigint(),
    stdinOffset: 0,
    memory: undefined,
    beforeBlocking,
  };

  // Built per task, so no call reaches another task's state. Not spread into one object first:
  // spreading these objects of closures cost about 80 µs a task, most of a warm task's host time.
  const imports: Record<string, (...args: never[]) => number> = {};
  const groups: Record<string, (...args: never[]) => unknown>[] = [
    processCalls(state, argv, environ, onProgress),
    descriptorCalls(state, onProgress),
    pathCalls(state),
  ];
  for (const calls of groups) {
    for (const name in calls) imports[name] = errnoReturning(calls[name]!);
  }
  return {
    imports,
    bindMemory: (guestMemory) => {
      state.memory = new GuestMemory(guestMemory);
    },
    close: () => state.fds.closeAll(),
  };
}

/** A call as the guest sees it: SUCCESS, or the errno of the host error it threw. */
function errnoReturning(call: (...args: never[]) => unknown): (...args: never[]) => number {
  return (...args: never[]): number => {
    try {
      call(...args);
      return Errno.SUCCESS;
    } catch (error) {
      if (isHostError(error)) return errnoOf(error);
      throw error;
    }
  };
}

/** fd_*: reads, writes, seeks and metadata of open descriptors. */
function descriptorCalls(state: HostState, onProgress: () => void) {
  return {
    fd_advise: (fd: number) => void fileEntry(state, fd),
    fd_allocate: (fd: number, offset: bigint, length: bigint) => {
      const entry = fileEntry(state, fd);
      if (!entry.writable) throw new WasiError(Errno.BADF);
      const wanted = Number(offset + length);
      if (fs.fstatSync(entry.hostFd).size < wanted) fs.ftruncateSync(entry.hostFd, wanted);
    },
    fd_close: (fd: number) => state.fds.close(fd),
    fd_datasync: (fd: number) => fs.fdatasyncSync(fileEntry(state, fd).hostFd),
    fd_sync: (fd: number) => fs.fsyncSync(fileEntry(state, fd).hostFd),
    fd_fdstat_get: (fd: number, resultAt: number) => {
      const [filetype, flags, base, inheriting] = fdstatOf(state.fds.get(fd));
      const m = mem(state);
      m.bytes(resultAt, 24).fill(0);
      m.setU8(resultAt, filetype);
      m.setU16(resultAt + 2, flags);
      m.setU64(resultAt + 8, base);
      m.setU64(resultAt + 16, inheriting);
    },
    fd_fdstat_set_flags: (fd: number, flags: number) => {
      const entry = state.fds.get(fd);
      if (entry.kind !== 'file') {
        if ((flags & ~FDFLAGS.NONBLOCK) !== 0) throw new WasiError(Errno.NOTSUP);
        return;
      }
      if ((flags & ~(FDFLAGS.APPEND | FDFLAGS.NONBLOCK)) !== 0) throw new WasiError(Errno.NOTSUP);
      entry.append = (flags & FDFLAGS.APPEND) !== 0;
    },
    fd_fdstat_set_rights: (fd: number) => void state.fds.get(fd),
    fd_filestat_get: (fd: number, resultAt: number) => {
      const entry = state.fds.get(fd);
      if (entry.kind === 'file')
        return writeFilestat(state, resultAt, fs.fstatSync(entry.hostFd, { bigint: true }));
      if (entry.kind === 'dir') {
        const path = hostPathOf(entry.dir.rootHostPath, entry.dir.parts);
        return writeFilestat(state, resultAt, fs.statSync(path, { bigint: true }));
      }
      mem(state).bytes(resultAt, 64).fill(0);
      mem(state).setU8(resultAt + 16, FILETYPE.CHAR);
    },
    fd_filestat_set_size: (fd: number, size: bigint) => {
      const entry = fileEntry(state, fd);
      if (!entry.writable) throw new WasiError(Errno.BADF);
      fs.ftruncateSync(entry.hostFd, Number(size));
    },
    fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, flags: number) => {
      const entry = fileEntry(state, fd);
      if (!entry.writable) throw new WasiError(Errno.BADF);
      const stats = fs.fstatSync(entry.hostFd, { bigint: true });
      const [atime, mtime] = chooseTimes(stats, atim, mtim, flags);
      fs.futimesSync(entry.hostFd, atime, mtime);
    },
    fd_pread: (fd: number, iovs: number, count: number, offset: bigint, resultAt: number) => {
      const entry = fileEntry(state, fd);
      mem(state).setU32(
        resultAt,
        readInto(state, entry, mem(state).iovecs(iovs, count), Number(offset)),
      );
    },
    fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, resultAt: number) => {
      const entry = fileEntry(state, fd);
      mem(state).setU32(
        resultAt,
        writeFrom(state, entry, mem(state).iovecs(iovs, count), Number(offset)),
      );
    },
    fd_read: (fd: number, iovs: number, count: number, resultAt: number) => {
      onProgress();
      const entry = state.fds.get(fd);
      mem(state).setU32(
        resultAt,
        readInto(state, entry, mem(state).iovecs(iovs, count), undefined),
      );
    },
    fd_write: (fd: number, iovs: number, count: number, resultAt: number) => {
      onProgress();
      const entry = state.fds.get(fd);
      mem(state).setU32(
        resultAt,
        writeFrom(state, entry, mem(state).iovecs(iovs, count), undefined),
      );
    },
    fd_prestat_get: (fd: number, resultAt: number) => {
      const entry = state.fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopenName === undefined) throw new WasiError(Errno.BADF);
      mem(state).setU32(resultAt, 0);
      mem(state).setU32(resultAt + 4, encodeUtf8(entry.preopenName).length);
    },
    fd_prestat_dir_name: (fd: number, pathAt: number, length: number) => {
      const entry = state.fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopenName === undefined) throw new WasiError(Errno.BADF);
      const name = encodeUtf8(entry.preopenName);
      if (length < name.length) throw new WasiError(Errno.NAMETOOLONG);
      mem(state).bytes(pathAt, name.length).set(name);
    },
    fd_readdir: (fd: number, bufAt: number, length: number, cookie: bigint, resultAt: number) => {
      mem(state).setU32(resultAt, readdirInto(state, fd, bufAt, length, cookie));
    },
    fd_renumber: (from: number, to: number) => state.fds.renumber(from, to),
    fd_seek: (fd: number, offset: bigint, whence: number, resultAt: number) => {
      const entry = fileEntry(state, fd);
      let base: number;
      if (whence === 0) base = 0;
      else if (whence === 1) base = entry.position;
      else if (whence === 2) base = fs.fstatSync(entry.hostFd).size;
      else throw new WasiError(Errno.INVAL);
      const target = base + Number(offset);
      if (target < 0) throw new WasiError(Errno.INVAL);
      entry.position = target;
      mem(state).setU64(resultAt, BigInt(target));
    },
    fd_tell: (fd: number, resultAt: number) => {
      mem(state).setU64(resultAt, BigInt(fileEntry(state, fd).position));
    },
  };
}

/** path_*: everything named by a path, resolved below a preopen (paths.ts). */
function pathCalls(state: HostState) {
  return {
    path_create_directory: (fd: number, pathAt: number, length: number) => {
      const { dir } = state.fds.dir(fd);
      requireWritable(dir);
      const parts = resolveConfined(dir, readPath(state, pathAt, length), false);
      fs.mkdirSync(hostPathOf(dir.rootHostPath, parts));
    },
    path_filestat_get: (
      fd: number,
      flags: number,
      pathAt: number,
      length: number,
      resultAt: number,
    ) => {
      const { dir } = state.fds.dir(fd);
      const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      const parts = resolveConfined(dir, readPath(state, pathAt, length), follow);
      writeFilestat(
        state,
        resultAt,
        fs.lstatSync(hostPathOf(dir.rootHostPath, parts), { bigint: true }),
      );
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
      const { dir } = state.fds.dir(fd);
      requireWritable(dir);
      const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      const hostPath = hostPathOf(
        dir.rootHostPath,
        resolveConfined(dir, readPath(state, pathAt, length), follow),
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
      const source = state.fds.dir(oldFd).dir;
      const target = state.fds.dir(newFd).dir;
      requireWritable(target);
      const follow = (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0;
      const sourceParts = resolveConfined(source, readPath(state, oldAt, oldLength), follow);
      const targetParts = resolveConfined(target, readPath(state, newAt, newLength), false);
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
      const path = readPath(state, pathAt, length);
      mem(state).setU32(
        resultAt,
        openAt(state, fd, lookupFlags, path, oflags, rightsBase, fdflags),
      );
    },
    path_readlink: (
      fd: number,
      pathAt: number,
      length: number,
      bufAt: number,
      bufLength: number,
      resultAt: number,
    ) => {
      const { dir } = state.fds.dir(fd);
      const parts = resolveConfined(dir, readPath(state, pathAt, length), false);
      const target = encodeUtf8(fs.readlinkSync(hostPathOf(dir.rootHostPath, parts)));
      const count = Math.min(target.length, bufLength);
      mem(state).bytes(bufAt, count).set(target.subarray(0, count));
      mem(state).setU32(resultAt, count);
    },
    path_remove_directory: (fd: number, pathAt: number, length: number) => {
      const { dir } = state.fds.dir(fd);
      requireWritable(dir);
      const parts = resolveConfined(dir, readPath(state, pathAt, length), false);
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
      const source = state.fds.dir(oldFd).dir;
      const target = state.fds.dir(newFd).dir;
      requireWritable(source);
      requireWritable(target);
      const sourceParts = resolveConfined(source, readPath(state, oldAt, oldLength), false);
      const targetParts = resolveConfined(target, readPath(state, newAt, newLength), false);
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
      const { dir } = state.fds.dir(fd);
      requireWritable(dir);
      const linkTarget = readPath(state, oldAt, oldLength);
      const parts = resolveConfined(dir, readPath(state, newAt, newLength), false);
      // A link leading out of the preopen is refused even though we would never follow it:
      // other readers of this directory (the agent, an operator) might.
      if (!symlinkTargetStaysInside(parts.slice(0, -1), linkTarget))
        throw new WasiError(Errno.PERM);
      fs.symlinkSync(linkTarget, hostPathOf(dir.rootHostPath, parts));
    },
    path_unlink_file: (fd: number, pathAt: number, length: number) => {
      const { dir } = state.fds.dir(fd);
      requireWritable(dir);
      const parts = resolveConfined(dir, readPath(state, pathAt, length), false);
      const hostPath = hostPathOf(dir.rootHostPath, parts);
      if (fs.lstatSync(hostPath).isDirectory()) throw new WasiError(Errno.ISDIR);
      fs.unlinkSync(hostPath);
    },
  };
}

/** args, environment, clocks, poll, exit, random, and the refused sockets. */
function processCalls(
  state: HostState,
  argv: Uint8Array[],
  environ: Uint8Array[],
  onProgress: () => void,
) {
  return {
    args_get: (argvAt: number, bufAt: number) => writeStrings(state, argv, argvAt, bufAt),
    args_sizes_get: (countAt: number, bytesAt: number) => writeSizes(state, argv, countAt, bytesAt),
    environ_get: (envAt: number, bufAt: number) => writeStrings(state, environ, envAt, bufAt),
    environ_sizes_get: (countAt: number, bytesAt: number) =>
      writeSizes(state, environ, countAt, bytesAt),
    clock_res_get: (clockId: number, resultAt: number) => {
      timeNs(state, clockId);
      mem(state).setU64(resultAt, CLOCK_RESOLUTION_NS);
    },
    clock_time_get: (clockId: number, _precision: bigint, resultAt: number) => {
      onProgress();
      mem(state).setU64(resultAt, timeNs(state, clockId));
    },
    poll_oneoff: (inAt: number, outAt: number, count: number, resultAt: number) => {
      onProgress();
      mem(state).setU32(resultAt, pollOneoff(state, inAt, outAt, count));
    },
    proc_exit: (code: number): never => {
      throw new GuestExit(code);
    },
    proc_raise: () => {
      throw new WasiError(Errno.NOSYS);
    },
    sched_yield: () => onProgress(),
    random_get: (bufAt: number, length: number) => {
      randomFillSync(mem(state).bytes(bufAt, length));
    },
    // No socket is ever handed out: every socket call names a bad or non-socket descriptor.
    sock_accept: (fd: number) => notASocket(state.fds, fd),
    sock_recv: (fd: number) => notASocket(state.fds, fd),
    sock_send: (fd: number) => notASocket(state.fds, fd),
    sock_shutdown: (fd: number) => notASocket(state.fds, fd),
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
