import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** What one measurement of a directory tree found. */
export interface DiskUsage {
  /** Bytes allocated on disk (`du` style: st_blocks × 512), hard links counted once. */
  readonly bytes: number;
  /** Files and directories visited. */
  readonly entries: number;
  /** false when the walk stopped at `entriesMax`: `bytes` is then a lower bound. */
  readonly complete: boolean;
}

/** Bytes per st_blocks unit (POSIX fixes it at 512 whatever the filesystem's block size). */
const BLOCK_BYTES = 512;

function isVanished(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Measures `root` as `du -s` would (Mesos's disk/du isolator): allocated blocks, so a sparse file
 * counts what it really holds; symlinks are not followed (the link itself counts); a file with
 * several links counts once. Files that vanish while it walks are skipped, not errors. Visits at
 * most `entriesMax` entries so that a sandbox with millions of files cannot stall the agent.
 */
export async function measureDiskUsage(root: string, entriesMax: number): Promise<DiskUsage> {
  const seen = new Set<string>();
  const pending = [root];
  let bytes = 0;
  let entries = 0;
  let complete = true;
  while (pending.length > 0) {
    const path = pending.pop()!;
    let stats;
    try {
      stats = await lstat(path, { bigint: false });
    } catch (error) {
      if (isVanished(error)) continue;
      throw error;
    }
    entries++;
    const inode = `${stats.dev}:${stats.ino}`;
    if (stats.nlink > 1 && !stats.isDirectory()) {
      if (seen.has(inode)) continue;
      seen.add(inode);
    }
    bytes += stats.blocks * BLOCK_BYTES;
    if (!stats.isDirectory()) continue;
    let children: Dirent[];
    try {
      children = await readdir(path, { withFileTypes: true });
    } catch (error) {
      if (isVanished(error)) continue;
      throw error;
    }
    for (const child of children) {
      // Entries already counted plus those queued never pass the bound.
      if (entries + pending.length >= entriesMax) {
        complete = false;
        break;
      }
      pending.push(join(path, child.name));
    }
  }
  return { bytes, entries, complete };
}
