import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';
import {
  OPEN_ACL,
  ZkSession,
  digestAcl,
  type ZkAcl,
  type ZkConnectOptions,
  type ZkOp,
} from '../../lib/zookeeper/client.js';
import { isZkError } from '../../lib/zookeeper/errors.js';
import type { ZkCredentials } from '../../lib/zookeeper/url.js';
import {
  chunkName,
  chunkOwner,
  decodeHead,
  encodeHead,
  headVersion,
  makeHead,
  sha256Hex,
  splitChunks,
  type RegistryHead,
} from './chunking.js';
import { RegistryCorruptError, RegistryUnavailableError } from './errors.js';
import { tooLarge } from './file-store.js';
import { DEFAULT_REGISTRY_LIMITS, checkRegistryLimits, type RegistryLimits } from './limits.js';
import type {
  RegistryStore,
  RegistryVersion,
  RegistryWriteError,
  StoredRegistry,
} from './store.js';

/** Where the registry lives under wasmos's root znode. */
export function registryPaths(rootPath: string): { base: string; head: string; chunks: string } {
  const base = `${rootPath}/registry`;
  return { base, head: `${base}/head`, chunks: `${base}/chunks` };
}

export interface ZkRegistryStoreOptions {
  /** How to reach ZooKeeper (servers, timeouts). The store keeps its own session. */
  readonly zookeeper: Omit<ZkConnectOptions, 'credentials' | 'logger'>;
  readonly rootPath: string;
  /** The masters' digest credentials; without them the znodes are open to everyone (dev only). */
  readonly credentials?: ZkCredentials;
  /**
   * The writer's election znode. Every write checks, in the same transaction, that it still
   * exists: once a master's session has expired, its writes fail even if nobody wrote since.
   * Returns undefined when this master is not a candidate (its writes then fail with conflict).
   */
  readonly fencePath?: () => string | undefined;
  readonly limits?: RegistryLimits;
  readonly logger?: Logger;
}

interface HeadRead {
  readonly head: RegistryHead;
  readonly statVersion: number;
}

/**
 * The HA registry: bytes split into immutable chunk znodes (each well under ZooKeeper's 1 MiB
 * limit), committed by ONE multi that checks the writer's fence and compare-and-sets the head
 * znode's version, and removes the previous write's chunks. Chunks are staged before the
 * commit (one multi could not carry them all: a request is bounded by 1 MiB too); staged
 * chunks of a failed write are orphans, removed after the next successful write. A registry
 * of one chunk is written by one multi that creates the chunk too.
 */
export class ZkRegistryStore implements RegistryStore {
  private readonly limits: RegistryLimits;
  private readonly logger: Logger;
  private readonly paths: ReturnType<typeof registryPaths>;
  private readonly acl: readonly ZkAcl[];
  private session: ZkSession | undefined;
  private connecting: Promise<ZkSession> | undefined;
  private closed = false;
  /**
   * The orphan collection after the last successful write: it runs after the acknowledgement
   * (off the path of every change) and the next write waits for it, so a collection never
   * overlaps a commit.
   */
  private cleanup: Promise<void> = Promise.resolve();

  constructor(private readonly options: ZkRegistryStoreOptions) {
    this.limits = options.limits ?? DEFAULT_REGISTRY_LIMITS;
    checkRegistryLimits(this.limits);
    this.logger = options.logger ?? silentLogger;
    this.paths = registryPaths(options.rootPath);
    this.acl = options.credentials ? digestAcl(options.credentials, false) : OPEN_ACL;
  }

  async load(): Promise<StoredRegistry | undefined> {
    for (let attempt = 0; attempt < this.limits.readAttemptsMax; attempt++) {
      try {
        const found = await this.withLiveSession(async (session) => {
          const read = await this.readHead(session);
          if (!read) return { none: true } as const;
          const bytes = await this.readChunks(session, read.head);
          return bytes && { bytes, version: headVersion(read.head) };
        });
        if (found && 'none' in found) return undefined;
        if (found) return found;
        // A concurrent write removed the chunks of the head we read: read the new head.
      } catch (error) {
        if (error instanceof RegistryCorruptError) throw error;
        throw new RegistryUnavailableError(
          `cannot load the registry from ZooKeeper: ${String(error)}`,
        );
      }
    }
    throw new RegistryUnavailableError(
      `registry changed under ${this.limits.readAttemptsMax} consecutive reads (readAttemptsMax)`,
    );
  }

  async store(
    bytes: Uint8Array,
    expected: RegistryVersion | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    if (bytes.byteLength > this.limits.registryBytesMax) {
      return err(tooLarge(bytes.byteLength, this.limits.registryBytesMax));
    }
    const fence = this.options.fencePath?.();
    if (this.options.fencePath && fence === undefined) {
      return err({
        code: 'conflict',
        message: 'this master is not a leader candidate: it may not write',
      });
    }
    await this.cleanup;
    let session: ZkSession;
    let current: HeadRead | undefined;
    try {
      [session, current] = await this.withLiveSession(
        async (live) => [live, await this.readHead(live)] as const,
      );
    } catch (error) {
      return err({
        code: 'unavailable',
        message: `cannot read the registry head: ${String(error)}`,
      });
    }
    if ((current && headVersion(current.head)) !== expected) {
      const found = current ? headVersion(current.head) : 'none';
      return err({
        code: 'conflict',
        message: `registry is at version ${found}, not ${expected ?? 'none'}`,
      });
    }
    return this.commit(session, bytes, current, fence);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.cleanup;
    const session = this.session ?? (await this.connecting?.catch(() => undefined));
    this.session = undefined;
    await session?.close();
  }

  private async commit(
    session: ZkSession,
    bytes: Uint8Array,
    current: HeadRead | undefined,
    fence: string | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    const id = randomBytes(8).toString('hex');
    const chunks = splitChunks(bytes, this.limits.chunkBytes);
    const head = makeHead(current?.head, id, bytes, chunks.length);
    const names = chunks.map((_, index) => chunkName(id, index));
    if (chunks.length === 1)
      return this.commitWhole(session, chunks[0]!, head, names[0]!, current, fence);
    try {
      await Promise.all(
        chunks.map((chunk, index) =>
          session.create(`${this.paths.chunks}/${names[index]}`, chunk, this.acl, 'persistent'),
        ),
      );
    } catch (error) {
      return err({
        code: 'unavailable',
        message: `cannot stage registry chunks: ${String(error)}`,
      });
    }
    const ops = this.commitOps(head, names, current, fence);
    try {
      await session.multi(ops);
    } catch (error) {
      return this.commitFailed(session, error, head, ops, fence);
    }
    this.cleanup = this.collectOrphans(session, id);
    return ok(headVersion(head));
  }

  /**
   * A registry that fits one chunk (the usual case) is written by ONE multi that also creates
   * the chunk: one ZooKeeper round trip and one transaction-log sync instead of two, and
   * nothing staged that could be orphaned. (A chunk is at most `chunkBytes`, well under the
   * 1 MiB request limit.) This is on the path of every acknowledged change, failovers included.
   */
  private async commitWhole(
    session: ZkSession,
    chunk: Uint8Array,
    head: RegistryHead,
    name: string,
    current: HeadRead | undefined,
    fence: string | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    const ops = this.commitOps(head, [], current, fence);
    // After the fence and the head (a stale writer reads as a conflict), before the removals.
    const headIndex = fence === undefined ? 1 : 2;
    ops.splice(headIndex, 0, {
      op: 'create',
      path: `${this.paths.chunks}/${name}`,
      data: chunk,
      acl: this.acl,
    });
    try {
      await session.multi(ops);
    } catch (error) {
      return this.commitFailed(session, error, head, ops, fence);
    }
    this.cleanup = this.collectOrphans(session, head.id);
    return ok(headVersion(head));
  }

  private commitOps(
    head: RegistryHead,
    names: readonly string[],
    current: HeadRead | undefined,
    fence: string | undefined,
  ): ZkOp[] {
    const ops: ZkOp[] = [];
    if (fence !== undefined) ops.push({ op: 'check', path: fence, version: -1 });
    // ZooKeeper reports the first failing op: the head goes before the chunk checks so that a
    // stale writer reads as a conflict rather than as a missing chunk.
    const data = encodeHead(head);
    if (current) ops.push({ op: 'set', path: this.paths.head, data, version: current.statVersion });
    else ops.push({ op: 'create', path: this.paths.head, data, acl: this.acl });
    // The staged chunks must still exist when the head starts pointing at them.
    for (const name of names)
      ops.push({ op: 'check', path: `${this.paths.chunks}/${name}`, version: 0 });
    for (let index = 0; current && index < current.head.chunks; index++) {
      ops.push({
        op: 'remove',
        path: `${this.paths.chunks}/${chunkName(current.head.id, index)}`,
        version: -1,
      });
    }
    return ops;
  }

  private async commitFailed(
    session: ZkSession,
    error: unknown,
    head: RegistryHead,
    ops: readonly ZkOp[],
    fence: string | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>> {
    if (isZkError(error, 'timeout') || isZkError(error, 'connection_loss')) {
      // The commit may or may not have happened: the head says which.
      const now = await this.readHead(session).catch(() => undefined);
      if (now?.head.id === head.id) return ok(headVersion(head));
      return err({
        code: 'unavailable',
        message: `registry commit outcome unknown: ${String(error)}; reload before writing`,
      });
    }
    await this.collectOrphans(session, undefined);
    const failed = isZkError(error) ? ops[error.opIndex ?? -1] : undefined;
    if (fence !== undefined && failed?.path === fence) {
      return err({
        code: 'conflict',
        message: `fenced: election znode ${fence} is gone (this master was deposed)`,
      });
    }
    if (failed?.path === this.paths.head) {
      return err({ code: 'conflict', message: 'registry head changed during the write' });
    }
    return err({ code: 'unavailable', message: `registry commit failed: ${String(error)}` });
  }

  /** Removes chunks that no committed head points at (failed or fenced writes); best effort. */
  private async collectOrphans(session: ZkSession, keepId: string | undefined): Promise<void> {
    try {
      const read = await this.readHead(session);
      const keep = new Set([keepId, read?.head.id]);
      const names = await session.getChildren(this.paths.chunks);
      for (const name of names) {
        if (keep.has(chunkOwner(name))) continue;
        await session.remove(`${this.paths.chunks}/${name}`, -1).catch(() => undefined);
      }
    } catch (error) {
      this.logger.warn('registry chunk cleanup failed', { error: String(error) });
    }
  }

  private async readHead(session: ZkSession): Promise<HeadRead | undefined> {
    let read: Awaited<ReturnType<ZkSession['getData']>>;
    try {
      read = await session.getData(this.paths.head);
    } catch (error) {
      if (isZkError(error, 'no_node')) return undefined;
      throw error;
    }
    const head = decodeHead(read.data);
    if (!head.ok) throw new RegistryCorruptError(head.error, this.paths.head);
    return { head: head.value, statVersion: read.stat.version };
  }

  /** The head's registry, or undefined if its chunks were replaced meanwhile. */
  private async readChunks(
    session: ZkSession,
    head: RegistryHead,
  ): Promise<Uint8Array | undefined> {
    const reads = Array.from({ length: head.chunks }, (_, index) =>
      session.getData(`${this.paths.chunks}/${chunkName(head.id, index)}`).then(
        (read) => read.data,
        (error: unknown) => {
          if (isZkError(error, 'no_node')) return undefined;
          throw error;
        },
      ),
    );
    const chunks = await Promise.all(reads);
    if (chunks.some((chunk) => chunk === undefined)) return undefined;
    const bytes = new Uint8Array(Buffer.concat(chunks as Uint8Array[]));
    if (bytes.byteLength !== head.bytes || sha256Hex(bytes) !== head.sha256) {
      throw new RegistryCorruptError(
        `registry chunks of write ${head.id} do not match their checksum`,
        this.paths.chunks,
      );
    }
    return bytes;
  }

  /**
   * Runs an idempotent read on a live session. A lost connection is retried (the session
   * reconnects); a session that expired while this process was stalled (paused, swapped out)
   * is replaced: the reads carry no state across sessions. Bounded by readAttemptsMax.
   */
  private async withLiveSession<T>(read: (session: ZkSession) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.connected();
      try {
        return await read(session);
      } catch (error) {
        const expired = isZkError(error, 'session_expired') || isZkError(error, 'closed');
        const retry = expired || isZkError(error, 'connection_loss');
        if (!retry || attempt >= this.limits.readAttemptsMax) throw error;
        if (expired) {
          this.logger.info('registry store session expired; reconnecting');
          if (this.session === session) this.session = undefined;
          await session.close();
        }
      }
    }
  }

  private async connected(): Promise<ZkSession> {
    if (this.closed) throw new RegistryUnavailableError('registry store is closed');
    if (this.session && !this.session.isDead) return this.session;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<ZkSession> {
    const session = await ZkSession.connect({
      ...this.options.zookeeper,
      ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      logger: this.logger,
    });
    try {
      await session.ensurePath(this.paths.base, this.acl);
      await session.ensurePath(this.paths.chunks, this.acl);
    } catch (error) {
      await session.close();
      throw error;
    }
    this.session = session;
    return session;
  }
}
