/**
 * Resolves a guest path inside a preopen, one component at a time, so that
 * nothing leads outside it: absolute paths and `..` above the preopen's root
 * are refused, and symlinks are expanded here (absolute targets refused,
 * relative ones spliced into the walk) instead of by the host's kernel. The
 * caller opens the result with O_NOFOLLOW, so the last component cannot be
 * swapped for a symlink behind our back either.
 */
import { err, ok, type Result } from '../../../lib/result.js';
import type { FsErrorCode } from './errors.js';

/** Symlinks expanded in one resolution before giving up with `loop` (Linux's MAXSYMLINKS). */
export const symlinkExpansionsMax = 40;

/** The two questions resolution asks the file system, injected for tests. */
export interface LinkReader {
  /** The symlink's target when `segments` names a symlink; undefined otherwise (or absent). */
  readLink(segments: readonly string[]): string | undefined;
}

/**
 * `base` is the directory's path below the preopen root; the result is the
 * target's path below the root. `followLast` follows a symlink in the last
 * component (wasi's `symlink-follow`).
 */
export function resolveInPreopen(
  base: readonly string[],
  path: string,
  followLast: boolean,
  links: LinkReader,
): Result<string[], FsErrorCode> {
  if (path === '') return err('no-entry');
  if (path.includes('\0')) return err('invalid');
  if (path.startsWith('/')) return err('not-permitted');
  const resolved = [...base];
  const pending = path.split('/').reverse();
  let expansions = 0;
  while (pending.length > 0) {
    const segment = pending.pop()!;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (resolved.length === 0) return err('not-permitted');
      resolved.pop();
      continue;
    }
    const isLast = pending.every((rest) => rest === '' || rest === '.');
    // A trailing slash ("dir/") asks for the directory itself: follow it.
    const trailingSlash = isLast && pending.length > 0;
    if (!isLast || followLast || trailingSlash) {
      const target = links.readLink([...resolved, segment]);
      if (target !== undefined) {
        expansions += 1;
        if (expansions > symlinkExpansionsMax) return err('loop');
        if (target.startsWith('/')) return err('not-permitted');
        pending.push(...target.split('/').reverse());
        continue;
      }
    }
    resolved.push(segment);
  }
  return ok(resolved);
}
