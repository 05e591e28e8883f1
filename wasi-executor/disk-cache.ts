/**
 * Prepared artifacts on disk, under `<workDir>/cache/<key>/`: a meta.json and
 * the binaries beside it. The key covers the input digest and the versions of
 * every tool that produced the entry, so a tool upgrade is a miss, never a
 * stale hit. Entries are written to a temporary directory and renamed into
 * place, so a reader never sees half an entry. Failures are misses.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';

export interface CacheEntry {
  readonly meta: unknown;
  readonly files: Readonly<Record<string, Uint8Array>>;
}

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

export function cacheKey(digest: string, toolVersions: string): string {
  return createHash('sha256').update(`${digest}\n${toolVersions}`).digest('hex');
}

export class DiskCache {
  private readonly root: string;

  constructor(
    workDir: string,
    private readonly logger: Logger,
  ) {
    this.root = join(workDir, 'cache');
  }

  get(key: string): CacheEntry | undefined {
    const dir = join(this.root, key);
    if (!existsSync(dir)) return undefined;
    try {
      const stored = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as {
        meta: unknown;
        files: string[];
      };
      const files: Record<string, Uint8Array> = {};
      for (const name of stored.files) {
        if (!SAFE_NAME.test(name)) return undefined;
        files[name] = new Uint8Array(readFileSync(join(dir, name)));
      }
      return { meta: stored.meta, files };
    } catch (error) {
      this.logger.warn('unreadable cache entry, ignoring it', { key, error: String(error) });
      return undefined;
    }
  }

  put(key: string, entry: CacheEntry): void {
    const names = Object.keys(entry.files);
    if (!names.every((name) => SAFE_NAME.test(name) && name !== 'meta.json')) return;
    const target = join(this.root, key);
    const staging = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      mkdirSync(staging, { recursive: true });
      for (const name of names) writeFileSync(join(staging, name), entry.files[name]!);
      writeFileSync(join(staging, 'meta.json'), JSON.stringify({ meta: entry.meta, files: names }));
      renameSync(staging, target);
    } catch (error) {
      // Another process may have stored the same entry first: theirs is as good as ours.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(target))
        this.logger.warn('could not write cache entry', { key, error: String(error) });
    }
  }
}
