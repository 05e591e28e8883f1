/**
 * The preview1 host's operations, as plain functions of one task's HostState:
 * reading and writing descriptors, opening below a preopen, listing
 * directories, clocks and poll. host.ts maps the wasi_snapshot_preview1
 * calls onto these.
 */
import * as fs from 'node:fs';
import { assert } from '../../lib/assert.js';
import type { GuestSpec, OutputSink } from '../guest.js';
import { Errno, WasiError } from './errno.js';
import type { FdEntry, FdTable } from './fd-table.js';
import { encodeUtf8, type GuestMemory } from './memory.js';
import { hostPathOf, resolveConfined, type DirHandle } from './paths.js';
import { sleepMs } from '../sleep.js';

export const FILETYPE = { UNKNOWN: 0, CHAR: 2, DIR: 3, FILE: 4, SYMLINK: 7 } as const;
export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const FDFLAGS = { APPEND: 1, NONBLOCK: 4 } as const;
export const LOOKUP_SYMLINK_FOLLOW = 1;
export const RIGHT = {
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_READDIR: 1n << 14n,
  POLL: 1n << 27n,
} as const;
export const RIGHTS_ALL = (1n << 30n) - 1n;
/** Rights that change the filesystem: a read-only preopen never grants them. */
export const RIGHTS_WRITING =
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
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;
export const CLOCK_RESOLUTION_NS = 1_000n;
export const DIRENT_HEADER_BYTES = 24;
export const EVENT_BYTES = 32;
export const SUBSCRIPTION_BYTES = 48;

export function requireWritable(dir: DirHandle): void {
  if (!dir.writable) throw new WasiError(Errno.NOTCAPABLE);
}

export function filetypeOf(stats: fs.BigIntStats): number {
  if (stats.isFile()) return FILETYPE.FILE;
  if (stats.isDirectory()) return FILETYPE.DIR;
  if (stats.isSymbolicLink()) return FILETYPE.SYMLINK;
  if (stats.isCharacterDevice()) return FILETYPE.CHAR;
  return FILETYPE.UNKNOWN;
}

/** `K=V` strings and argv as the guest stores them: NUL-terminated UTF-8. */
export function encodeStrings(strings: readonly string[]): Uint8Array[] {
  return strings.map((text) => encodeUtf8(text + '\0'));
}

/** Everything one task's host knows; built per task, never shared. */
export interface HostState {
  readonly spec: GuestSpec;
  readonly stdout: OutputSink;
  readonly stderr: OutputSink;
  readonly fds: FdTable;
  readonly startedNs: bigint;
  stdinOffset: number;
  memory: GuestMemory | undefined;
  readonly beforeBlocking: (() => void) | undefined;
}

export function mem(state: HostState): GuestMemory {
  assert(state.memory !== undefined, 'preview1 call before the memory was bound');
  return state.memory;
}

export function writeStrings(
  state: HostState,
  strings: Uint8Array[],
  pointersAt: number,
  bytesAt: number,
): void {
  let cursor = bytesAt;
  strings.forEach((bytes, index) => {
    mem(state).setU32(pointersAt + index * 4, cursor);
    mem(state).bytes(cursor, bytes.length).set(bytes);
    cursor += bytes.length;
  });
}
export function writeSizes(
  state: HostState,
  strings: Uint8Array[],
  countAt: number,
  bytesAt: number,
): void {
  mem(state).setU32(countAt, strings.length);
  mem(state).setU32(
    bytesAt,
    strings.reduce((sum, bytes) => sum + bytes.length, 0),
  );
}

export function readPath(state: HostState, pointer: number, length: number): string {
  return mem(state).string(pointer, length);
}

export function fileEntry(state: HostState, fd: number): Extract<FdEntry, { kind: 'file' }> {
  const entry = state.fds.get(fd);
  if (entry.kind === 'dir') throw new WasiError(Errno.ISDIR);
  if (entry.kind !== 'file') throw new WasiError(Errno.SPIPE);
  return entry;
}

export function writeFilestat(state: HostState, pointer: number, stats: fs.BigIntStats): void {
  const m = mem(state);
  m.view(pointer, 64);
  m.setU64(pointer, stats.dev);
  m.setU64(pointer + 8, stats.ino);
  m.setU8(pointer + 16, filetypeOf(stats));
  m.setU64(pointer + 24, stats.nlink);
  m.setU64(pointer + 32, stats.size);
  m.setU64(pointer + 40, stats.atimeNs);
  m.setU64(pointer + 48, stats.mtimeNs);
  m.setU64(pointer + 56, stats.ctimeNs);
}

export function readInto(
  state: HostState,
  entry: FdEntry,
  buffers: Uint8Array[],
  at: number | undefined,
): number {
  let total = 0;
  if (entry.kind === 'stdin') {
    for (const buffer of buffers) {
      const chunk = state.spec.stdin.subarray(state.stdinOffset, state.stdinOffset + buffer.length);
      buffer.set(chunk);
      state.stdinOffset += chunk.length;
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
}

export function writeFrom(
  state: HostState,
  entry: FdEntry,
  buffers: Uint8Array[],
  at: number | undefined,
): number {
  let total = 0;
  if (entry.kind === 'stdout' || entry.kind === 'stderr') {
    const sink = entry.kind === 'stdout' ? state.stdout : state.stderr;
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
}

export function openAt(
  state: HostState,
  dirFd: number,
  lookupFlags: number,
  path: string,
  oflags: number,
  rightsBase: bigint,
  fdflags: number,
): number {
  const { dir } = state.fds.dir(dirFd);
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
    return state.fds.add({
      kind: 'dir',
      dir: { rootHostPath: dir.rootHostPath, parts, writable: dir.writable },
      preopenName: undefined,
      listing: undefined,
    });
  }
  return state.fds.add({
    kind: 'file',
    hostFd,
    hostPath,
    readable,
    writable,
    append: (fdflags & FDFLAGS.APPEND) !== 0,
    position: 0,
  });
}

export function readdirInto(
  state: HostState,
  fd: number,
  pointer: number,
  length: number,
  cookie: bigint,
): number {
  const entry = state.fds.dir(fd);
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
    mem(state)
      .bytes(pointer + used, fits)
      .set(record.subarray(0, fits));
    used += fits;
  }
  return used;
}

export function fdstatOf(entry: FdEntry): [number, number, bigint, bigint] {
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
}

export function timeNs(state: HostState, clockId: number): bigint {
  switch (clockId) {
    case CLOCK.REALTIME:
      return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    case CLOCK.MONOTONIC:
      return process.hrtime.bigint();
    case CLOCK.PROCESS_CPUTIME:
    case CLOCK.THREAD_CPUTIME:
      return process.hrtime.bigint() - state.startedNs;
    default:
      throw new WasiError(Errno.INVAL);
  }
}

export function pollOneoff(state: HostState, inAt: number, outAt: number, count: number): number {
  if (count === 0) throw new WasiError(Errno.INVAL);
  const m = mem(state);
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
      const now = timeNs(state, clockId);
      const deadlineNs = absolute ? timeout : now + timeout;
      clocks.push({ userdata, deadlineNs: deadlineNs - now + process.hrtime.bigint() });
      const waitNs = deadlineNs - now;
      soonestNs = soonestNs === undefined || waitNs < soonestNs ? waitNs : soonestNs;
    } else if (tag === 1 || tag === 2) {
      // Files, stdin bytes and capped sinks never block: always ready.
      const fd = m.u32(at + 16);
      emit(userdata, state.fds.has(fd) ? Errno.SUCCESS : Errno.BADF, tag);
    } else {
      throw new WasiError(Errno.INVAL);
    }
  }
  if (events === 0 && soonestNs !== undefined && soonestNs > 0n) {
    state.beforeBlocking?.();
    sleepMs(Number(soonestNs / 1_000_000n));
  }
  if (events === 0) {
    const nowNs = process.hrtime.bigint();
    for (const clock of clocks) {
      if (clock.deadlineNs <= nowNs + 1_000_000n) emit(clock.userdata, Errno.SUCCESS, 0);
    }
  }
  return events;
}
