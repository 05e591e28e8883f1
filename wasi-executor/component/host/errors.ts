/**
 * How a host function returns the `err` arm of a WIT `result`: jco's glue
 * catches what the host throws and lifts its own `payload` property as the
 * error value. Anything that is an `Error` (GuestExit, a trap) is rethrown by
 * the glue instead, so it unwinds the guest.
 */
export class ResultError<T> {
  constructor(readonly payload: T) {}
}

/** wasi:filesystem/types error-code, as jco lowers the enum. */
export type FsErrorCode =
  | 'access'
  | 'would-block'
  | 'already'
  | 'bad-descriptor'
  | 'busy'
  | 'deadlock'
  | 'quota'
  | 'exist'
  | 'file-too-large'
  | 'illegal-byte-sequence'
  | 'in-progress'
  | 'interrupted'
  | 'invalid'
  | 'io'
  | 'is-directory'
  | 'loop'
  | 'too-many-links'
  | 'message-size'
  | 'name-too-long'
  | 'no-device'
  | 'no-entry'
  | 'no-lock'
  | 'insufficient-memory'
  | 'insufficient-space'
  | 'not-directory'
  | 'not-empty'
  | 'not-recoverable'
  | 'unsupported'
  | 'no-tty'
  | 'no-such-device'
  | 'overflow'
  | 'not-permitted'
  | 'pipe'
  | 'read-only'
  | 'invalid-seek'
  | 'text-file-busy'
  | 'cross-device';

const errnoToCode: Readonly<Record<string, FsErrorCode>> = {
  EACCES: 'access',
  EAGAIN: 'would-block',
  EBADF: 'bad-descriptor',
  EBUSY: 'busy',
  EDQUOT: 'quota',
  EEXIST: 'exist',
  EFBIG: 'file-too-large',
  EINVAL: 'invalid',
  EIO: 'io',
  EISDIR: 'is-directory',
  ELOOP: 'loop',
  EMLINK: 'too-many-links',
  ENAMETOOLONG: 'name-too-long',
  ENOENT: 'no-entry',
  ENOMEM: 'insufficient-memory',
  ENOSPC: 'insufficient-space',
  ENOTDIR: 'not-directory',
  ENOTEMPTY: 'not-empty',
  ENOTSUP: 'unsupported',
  EOVERFLOW: 'overflow',
  EPERM: 'not-permitted',
  EPIPE: 'pipe',
  EROFS: 'read-only',
  ESPIPE: 'invalid-seek',
  ETXTBSY: 'text-file-busy',
  EXDEV: 'cross-device',
};

/** Maps a Node fs error to the WASI error code; unknown errors are `io`. */
export function fsErrorCode(error: unknown): FsErrorCode {
  const errno = (error as { code?: unknown } | null)?.code;
  if (typeof errno === 'string') return errnoToCode[errno] ?? 'io';
  return 'io';
}

/** Throws the `err` arm of a filesystem result. */
export function fsFail(code: FsErrorCode): never {
  throw new ResultError(code);
}

/** Runs a host fs call, turning a Node fs error into the `err` arm of the result. */
export function fsCall<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof ResultError) throw error;
    if (isNodeFsError(error)) fsFail(fsErrorCode(error));
    throw error;
  }
}

function isNodeFsError(error: unknown): boolean {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}
