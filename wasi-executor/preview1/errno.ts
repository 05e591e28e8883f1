/** WASI preview1 errno values (wasi_snapshot_preview1 `errno`), and the host's errors mapped onto them. */
export const Errno = {
  SUCCESS: 0,
  ACCES: 2,
  AGAIN: 6,
  BADF: 8,
  BUSY: 10,
  EXIST: 20,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSPC: 51,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSUP: 58,
  OVERFLOW: 61,
  PERM: 63,
  SPIPE: 70,
  XDEV: 75,
  NOTCAPABLE: 76,
  NOTSOCK: 57,
} as const;

export type ErrnoValue = (typeof Errno)[keyof typeof Errno];

/** A WASI error raised inside the host and returned to the guest as its errno. */
export class WasiError extends Error {
  override readonly name = 'WasiError';
  constructor(readonly errno: ErrnoValue) {
    super(`wasi errno ${errno}`);
  }
}

const NODE_CODES: Readonly<Record<string, ErrnoValue>> = {
  EACCES: Errno.ACCES,
  EAGAIN: Errno.AGAIN,
  EBADF: Errno.BADF,
  EBUSY: Errno.BUSY,
  EEXIST: Errno.EXIST,
  EINVAL: Errno.INVAL,
  EIO: Errno.IO,
  EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP,
  EMFILE: Errno.MFILE,
  ENFILE: Errno.MFILE,
  ENAMETOOLONG: Errno.NAMETOOLONG,
  ENOENT: Errno.NOENT,
  ENOSPC: Errno.NOSPC,
  ENOTDIR: Errno.NOTDIR,
  ENOTEMPTY: Errno.NOTEMPTY,
  ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP,
  EOVERFLOW: Errno.OVERFLOW,
  EPERM: Errno.PERM,
  ESPIPE: Errno.SPIPE,
  EXDEV: Errno.XDEV,
  EFBIG: Errno.INVAL,
};

/** A host fs error (Node's `code`) as a WASI errno; anything unknown is EIO. */
export function errnoOf(error: unknown): ErrnoValue {
  if (error instanceof WasiError) return error.errno;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return NODE_CODES[code] ?? Errno.IO;
  return Errno.IO;
}

/** True for errors a host call may turn into an errno; anything else (a bug, a guest unwind) propagates. */
export function isHostError(error: unknown): boolean {
  if (error instanceof WasiError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('E');
}
