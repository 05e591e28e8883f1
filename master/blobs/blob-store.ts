import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, type Result } from '../../lib/result.js';
import { type Digest, digestHex, parseDigest } from './digest.js';
import type { BlobLimits } from './limits.js';

export type BlobPutError =
  | { readonly code: 'DIGEST_MISMATCH'; readonly message: string; readonly actual: Digest }
  | { readonly code: 'TOO_LARGE'; readonly message: string; readonly bytesMax: number }
  | { readonly code: 'STORE_FULL'; readonly message: string; readonly storeBytesMax: number };

export interface BlobInfo {
  readonly digest: Digest;
  readonly bytes: number;
}

/**
 * Content-addressed store for components, on disk under `dir/sha256/<hex>`.
 * Uploads stream to a temporary file while being hashed and counted; only a
 * complete body whose hash equals the claimed digest is renamed into place,
 * so a reader never sees a partial or mismatching blob.
 */
export class BlobStore {
  private bytesStored = 0;
  /** Digests being renamed into place right now, so two identical uploads count once. */
  private readonly committing = new Set<Digest>();
  private readonly blobsDir: string;
  private readonly incomingDir: string;

  private constructor(
    dir: string,
    private readonly limits: BlobLimits,
  ) {
    this.blobsDir = join(dir, 'sha256');
    this.incomingDir = join(dir, 'incoming');
  }

  static async open(dir: string, limits: BlobLimits): Promise<BlobStore> {
    const store = new BlobStore(dir, limits);
    await mkdir(store.blobsDir, { recursive: true });
    // Leftovers of uploads interrupted by a crash are never valid blobs.
    await rm(store.incomingDir, { recursive: true, force: true });
    await mkdir(store.incomingDir, { recursive: true });
    for (const name of await readdir(store.blobsDir)) {
      store.bytesStored += (await stat(join(store.blobsDir, name))).size;
    }
    return store;
  }

  get totalBytes(): number {
    return this.bytesStored;
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const stats = await stat(this.pathOf(digest));
      return { digest, bytes: stats.size };
    } catch {
      return undefined;
    }
  }

  /**
   * Up to `limit` blobs whose hex digest sorts after `afterHex` (all when empty), in digest
   * order: a listing a peer pages through with the last digest it saw.
   */
  async list(afterHex: string, limit: number): Promise<BlobInfo[]> {
    const names = (await readdir(this.blobsDir))
      .filter((name) => name > afterHex && parseDigest(name) !== undefined)
      .sort()
      .slice(0, Math.max(0, limit));
    const listed: BlobInfo[] = [];
    for (const name of names) {
      const found = await this.info(`sha256:${name}`);
      if (found) listed.push(found);
    }
    return listed;
  }

  /** A stream of the blob's bytes, or undefined when the store does not have it. */
  async read(digest: Digest): Promise<{ stream: ReadStream; bytes: number } | undefined> {
    const found = await this.info(digest);
    if (!found) return undefined;
    return { stream: createReadStream(this.pathOf(digest)), bytes: found.bytes };
  }

  /**
   * Stores `body` under `digest` if its bytes hash to it. Idempotent: putting a
   * blob the store already has drains nothing and reports `created: false`.
   */
  async put(
    digest: Digest,
    body: AsyncIterable<Uint8Array>,
  ): Promise<Result<{ created: boolean; bytes: number }, BlobPutError>> {
    const existing = await this.info(digest);
    if (existing) return ok({ created: false, bytes: existing.bytes });
    const incomingPath = join(this.incomingDir, randomBytes(8).toString('hex'));
    const file = await open(incomingPath, 'wx', 0o644);
    const hash = createHash('sha256');
    let bytes = 0;
    let keep = false;
    try {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        if (bytes > this.limits.blobBytesMax) return err(this.tooLarge());
        if (this.bytesStored + bytes > this.limits.storeBytesMax) return err(this.storeFull());
        hash.update(chunk);
        await file.write(chunk);
      }
      const actual: Digest = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) {
        return err({
          code: 'DIGEST_MISMATCH',
          message: `body hashes to ${actual}, not ${digest}`,
          actual,
        });
      }
      await file.sync();
      keep = true;
    } finally {
      await file.close();
      if (!keep) await rm(incomingPath, { force: true });
    }
    if (this.committing.has(digest) || (await this.info(digest))) {
      await rm(incomingPath, { force: true });
      return ok({ created: false, bytes });
    }
    this.committing.add(digest);
    try {
      await rename(incomingPath, this.pathOf(digest));
      this.bytesStored += bytes;
    } finally {
      this.committing.delete(digest);
    }
    return ok({ created: true, bytes });
  }

  async remove(digest: Digest): Promise<boolean> {
    const found = await this.info(digest);
    if (!found) return false;
    await rm(this.pathOf(digest), { force: true });
    this.bytesStored -= found.bytes;
    return true;
  }

  private pathOf(digest: Digest): string {
    return join(this.blobsDir, digestHex(digest));
  }

  private tooLarge(): BlobPutError {
    const bytesMax = this.limits.blobBytesMax;
    return {
      code: 'TOO_LARGE',
      message: `blob exceeds blobBytesMax (${bytesMax} bytes)`,
      bytesMax,
    };
  }

  private storeFull(): BlobPutError {
    const storeBytesMax = this.limits.storeBytesMax;
    return {
      code: 'STORE_FULL',
      message: `the blob store is full (storeBytesMax ${storeBytesMax} bytes)`,
      storeBytesMax,
    };
  }
}
