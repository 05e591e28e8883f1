/**
 * Path confinement for the preview1 host. Every guest path is resolved here,
 * one component at a time, relative to a preopen's root: `..` may not climb
 * above the root, absolute paths are refused, and each symlink met on the way
 * is read and resolved by us (never by the kernel), so a link pointing outside
 * the preopen is refused instead of followed. The host path returned has no
 * symlink in it except, when asked not to follow, its last component; callers
 * open it with O_NOFOLLOW so a link swapped in afterwards is not followed either.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Errno, WasiError } from './errno.js';

/** Symlinks followed while resolving one path, as Linux's MAXSYMLINKS. */
export const SYMLINKS_FOLLOWED_MAX = 40;
export const PATH_BYTES_MAX = 4096;

/** A directory the guest holds: a preopen root and where below it the directory is. */
export interface DirHandle {
  readonly rootHostPath: string;
  /** Components from the root to this directory; never `..`, `.` or empty. */
  readonly parts: readonly string[];
  readonly writable: boolean;
}

export function hostPathOf(root: string, parts: readonly string[]): string {
  return parts.length === 0 ? root : join(root, ...parts);
}

/** Checks a guest path's text before any resolution. */
function checkPathText(path: string): string[] {
  if (path.length === 0) throw new WasiError(Errno.NOENT);
  if (path.length > PATH_BYTES_MAX) throw new WasiError(Errno.NAMETOOLONG);
  if (path.includes('\0')) throw new WasiError(Errno.INVAL);
  if (path.startsWith('/')) throw new WasiError(Errno.NOTCAPABLE);
  return path.split('/');
}

function lstatOrUndefined(hostPath: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(hostPath);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Resolves `path` against `dir` to components below the preopen root.
 * `followFinal`: resolve a symlink in the last component too (stat, open with
 * SYMLINK_FOLLOW); otherwise the last component is returned as named.
 * A missing last component is fine (it may be about to be created).
 */
export function resolveConfined(dir: DirHandle, path: string, followFinal: boolean): string[] {
  const pending = checkPathText(path);
  const parts = [...dir.parts];
  let symlinksFollowed = 0;
  while (pending.length > 0) {
    const component = pending.shift()!;
    if (component === '' || component === '.') continue;
    if (component === '..') {
      if (parts.length === 0) throw new WasiError(Errno.NOTCAPABLE);
      parts.pop();
      continue;
    }
    const isLast = pending.length === 0;
    const candidate = hostPathOf(dir.rootHostPath, [...parts, component]);
    if (isLast && !followFinal) {
      parts.push(component);
      break;
    }
    const stats = lstatOrUndefined(candidate);
    if (stats === undefined) {
      if (!isLast) throw new WasiError(Errno.NOENT);
      parts.push(component);
      break;
    }
    if (stats.isSymbolicLink()) {
      symlinksFollowed += 1;
      if (symlinksFollowed > SYMLINKS_FOLLOWED_MAX) throw new WasiError(Errno.LOOP);
      const target = readlinkSync(candidate);
      if (target.startsWith('/')) throw new WasiError(Errno.NOTCAPABLE);
      pending.unshift(...target.split('/'));
      continue;
    }
    if (!isLast && !stats.isDirectory()) throw new WasiError(Errno.NOTDIR);
    parts.push(component);
  }
  return parts;
}

/** Whether a symlink target, read from the directory `linkParts`, stays below the root. */
export function symlinkTargetStaysInside(linkParts: readonly string[], target: string): boolean {
  if (target.length === 0 || target.startsWith('/') || target.includes('\0')) return false;
  let depth = linkParts.length;
  for (const component of target.split('/')) {
    if (component === '' || component === '.') continue;
    depth += component === '..' ? -1 : 1;
    if (depth < 0) return false;
  }
  return true;
}
