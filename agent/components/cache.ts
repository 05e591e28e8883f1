import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../lib/assert.js';
import type { Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';

export type ComponentErrorCode =
  'BAD_DIGEST' | 'NOT_FOUND' | 'FETCH_FAILED' | 'TOO_LARGE' | 'DIGEST_MISMATCH';

export interface ComponentError {
  readonly code: ComponentErrorCode;
  readonly message: string;
}

export interface CacheOptions {
  readonly dir: string;
  /** Total bytes kept; least recently used entries not in use are evicted past it. */
  readonly bytesMax: number;
  /** Largest single component accepted. */
  readonly componentBytesMax: number;
  readonly fetchTimeoutMs: number;
  readonly logger: Logger;
  /** Injected for tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/** A cached component, pinned (never evicted) until released. */
export interface ComponentLease {
  readonly digest: string;
  readonly path: string;
  readonly bytes: number;
  release(): void;
}

interface Entry {
  readonly hex: string;
  readonly bytes: number;
  pins: number;
}

/** Fetches of one component in a row that may each be evicted before use (cache far too small). */
const ACQUIRE_ATTEMPTS_MAX = 3;
const DIGEST_PATTERN = /^sha256:([0-9a-f]{64})$/;

/**
 * Components by digest in `<workDir>/components/<hex>.wasm`. A miss is fetched (from the
 * sources in order: the master's blob store, then the task's URL), hashed while it streams in,
 * refused if it does not match the digest or passes componentBytesMax, and only then renamed
 * into place. Entries form an LRU bounded by total bytes; an entry in use is never evicted
 * (so the cache may exceed bytesMax while more than bytesMax is in use at once).
 */
export class ComponentCache {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Result<Entry, ComponentError>>>();
  private totalBytes = 0;

  private constructor(private readonly options: CacheOptions) {
    assert(options.componentBytesMax <= options.bytesMax, 'the cache holds the largest component');
  }

  static async open(options: CacheOptions): Promise<ComponentCache> {
    const cache = new ComponentCache(options);
    await mkdir(options.dir, { recursive: true });
    const found: Array<{ hex: string; bytes: number; atimeMs: number }> = [];
    for (const name of await readdir(options.dir)) {
      const match = /^([0-9a-f]{64})\.wasm$/.exec(name);
      const path = join(options.dir, name);
      if (!match) {
        await rm(path, { force: true }); // a download cut short by a crash
        continue;
      }
      const info = await stat(path);
      found.push({ hex: match[1]!, bytes: info.size, atimeMs: info.mtimeMs });
    }
    for (const each of found.sort((left, right) => left.atimeMs - right.atimeMs)) {
      cache.insert({ hex: each.hex, bytes: each.bytes, pins: 0 });
    }
    cache.evict();
    return cache;
  }

  /** Gets the component (from the cache or the sources) and pins it until the lease is released. */
  async acquire(
    digest: string,
    sources: readonly string[],
  ): Promise<Result<ComponentLease, ComponentError>> {
    const hex = DIGEST_PATTERN.exec(digest)?.[1];
    if (!hex)
      return err({ code: 'BAD_DIGEST', message: `not a sha256 digest: ${digest.slice(0, 80)}` });
    let resolved: Entry | undefined;
    // A fresh entry could be evicted by another release before it is pinned: then fetch again.
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX && !resolved; attempt++) {
      const fetched = this.entries.get(hex) ?? (await this.fetchOnce(hex, sources));
      if ('ok' in fetched && !fetched.ok) return fetched;
      const entry = 'ok' in fetched ? fetched.value : fetched;
      if (this.entries.get(hex) === entry) resolved = entry;
    }
    if (!resolved)
      return err({ code: 'FETCH_FAILED', message: `sha256:${hex} was evicted as it arrived` });
    this.touch(resolved);
    resolved.pins += 1;
    this.evict();
    let released = false;
    return ok({
      digest,
      path: this.pathOf(resolved.hex),
      bytes: resolved.bytes,
      release: () => {
        if (released) return;
        released = true;
        resolved.pins -= 1;
        assert(resolved.pins >= 0, 'a component is released at most as often as acquired');
        this.evict();
      },
    });
  }

  get bytesCached(): number {
    return this.totalBytes;
  }

  has(digest: string): boolean {
    const hex = DIGEST_PATTERN.exec(digest)?.[1];
    return hex !== undefined && this.entries.has(hex);
  }

  private pathOf(hex: string): string {
    return join(this.options.dir, `${hex}.wasm`);
  }

  private touch(entry: Entry): void {
    this.entries.delete(entry.hex);
    this.entries.set(entry.hex, entry);
  }

  private insert(entry: Entry): void {
    assert(!this.entries.has(entry.hex), 'a component is cached once');
    this.entries.set(entry.hex, entry);
    this.totalBytes += entry.bytes;
  }

  /** Runs synchronously, so the pins it sees are the pins there are. */
  private evict(): void {
    for (const entry of [...this.entries.values()]) {
      if (this.totalBytes <= this.options.bytesMax) break;
      if (entry.pins > 0) continue;
      this.entries.delete(entry.hex);
      this.totalBytes -= entry.bytes;
      // Synchronous, so a new download of the same digest cannot land before the delete.
      rmSync(this.pathOf(entry.hex), { force: true });
      this.options.logger.debug('evicted component', { digest: entry.hex, bytes: entry.bytes });
    }
    assert(this.totalBytes >= 0, 'cached bytes never go negative');
  }

  /** Concurrent misses of one digest share one download. */
  private fetchOnce(
    hex: string,
    sources: readonly string[],
  ): Promise<Result<Entry, ComponentError>> {
    const running = this.inflight.get(hex);
    if (running) return running;
    const work = this.fetchFirst(hex, sources).finally(() => this.inflight.delete(hex));
    this.inflight.set(hex, work);
    return work;
  }

  private async fetchFirst(
    hex: string,
    sources: readonly string[],
  ): Promise<Result<Entry, ComponentError>> {
    let last: ComponentError = { code: 'NOT_FOUND', message: `no source for sha256:${hex}` };
    for (const source of sources) {
      const fetched = await this.download(hex, source);
      if (fetched.ok) {
        const existing = this.entries.get(hex);
        if (existing) return ok(existing);
        const entry: Entry = { hex, bytes: fetched.value, pins: 0 };
        this.insert(entry);
        return ok(entry);
      }
      last = fetched.error;
      // A digest mismatch or oversize from one source is worth trying the next one for.
    }
    return err(last);
  }

  /** Streams one source into a temporary file, hashing and counting; renames it into place if good. */
  private async download(hex: string, url: string): Promise<Result<number, ComponentError>> {
    const fetcher = this.options.fetch ?? fetch;
    const temporary = join(this.options.dir, `.${hex}.${randomBytes(6).toString('hex')}.part`);
    const handle = await open(temporary, 'w', 0o600);
    let keep = false;
    try {
      const response = await fetcher(url, {
        signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
      });
      if (response.status === 404) return err({ code: 'NOT_FOUND', message: `${url}: not found` });
      if (!response.ok || !response.body) {
        return err({ code: 'FETCH_FAILED', message: `${url}: HTTP ${response.status}` });
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > this.options.componentBytesMax) return this.tooLarge(url, declared);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        if (bytes > this.options.componentBytesMax) return this.tooLarge(url, bytes);
        hash.update(chunk);
        await handle.write(chunk);
      }
      const actual = hash.digest('hex');
      if (actual !== hex) {
        return err({
          code: 'DIGEST_MISMATCH',
          message: `${url}: content hashes to sha256:${actual}, not sha256:${hex}`,
        });
      }
      await handle.sync();
      keep = true;
      return ok(bytes);
    } catch (error) {
      return err({
        code: 'FETCH_FAILED',
        message: `${url}: ${error instanceof Error ? error.message : String(error)}`,
      });
    } finally {
      await handle.close();
      if (keep) await rename(temporary, this.pathOf(hex));
      else await rm(temporary, { force: true });
    }
  }

  private tooLarge(url: string, bytes: number): Result<number, ComponentError> {
    return err({
      code: 'TOO_LARGE',
      message: `${url}: ${bytes} bytes exceeds componentBytesMax (${this.options.componentBytesMax})`,
    });
  }
}
