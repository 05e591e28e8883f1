import zookeeper from 'node-zookeeper-client';
import { assert } from '../assert.js';
import type { Logger } from '../log.js';
import { digestId } from './credentials.js';
import { reasonForCode, ZkError } from './errors.js';
import type { ZkCredentials } from './url.js';

/** ZooKeeper's default `jute.maxbuffer`: no znode (and no request) may be larger. */
export const ZNODE_BYTES_MAX = 1024 * 1024;

export const Permission = {
  read: 1,
  write: 2,
  create: 4,
  delete: 8,
  admin: 16,
  all: 31,
} as const;

export interface ZkAcl {
  readonly perms: number;
  readonly scheme: 'world' | 'digest' | 'ip' | 'auth';
  readonly id: string;
}

export const OPEN_ACL: readonly ZkAcl[] = [
  { perms: Permission.all, scheme: 'world', id: 'anyone' },
];

/** Full rights for the holder of `credentials`, plus optional read access for everyone. */
export function digestAcl(credentials: ZkCredentials, worldReadable: boolean): ZkAcl[] {
  const acl: ZkAcl[] = [{ perms: Permission.all, scheme: 'digest', id: digestId(credentials) }];
  if (worldReadable) acl.push({ perms: Permission.read, scheme: 'world', id: 'anyone' });
  return acl;
}

export interface ZkStat {
  readonly version: number;
  readonly dataLength: number;
  readonly numChildren: number;
  /** Session id owning an ephemeral znode, as hex; "0000000000000000" for persistent ones. */
  readonly ephemeralOwner: string;
}

export type CreateMode = 'persistent' | 'ephemeral' | 'ephemeral_sequential';

export type ZkOp =
  | {
      readonly op: 'create';
      readonly path: string;
      readonly data: Uint8Array;
      readonly acl: readonly ZkAcl[];
    }
  | {
      readonly op: 'set';
      readonly path: string;
      readonly data: Uint8Array;
      readonly version: number;
    }
  | { readonly op: 'check'; readonly path: string; readonly version: number }
  | { readonly op: 'remove'; readonly path: string; readonly version: number };

export type SessionState = 'connected' | 'disconnected' | 'expired' | 'auth_failed';

/** A watch fires once; the callee re-reads to see what changed. */
export type Watcher = () => void;

export interface ZkConnectOptions {
  readonly servers: string;
  readonly sessionTimeoutMs: number;
  /** How long to wait for the first connection before giving up. */
  readonly connectTimeoutMs: number;
  /** How long any single request may take before it fails with `timeout`. */
  readonly requestTimeoutMs: number;
  readonly credentials?: ZkCredentials;
  readonly logger?: Logger;
}

const CREATE_MODE: Readonly<Record<CreateMode, number>> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

// The library's raw multi operation records (Transaction.ops). Built by hand because its
// builder turns version 0 into -1 (`version || -1`), which would silently disable the check.
type RawOp =
  | { type: number; path: string; data: Buffer; acls: zookeeper.ACL[]; mode: number }
  | { type: number; path: string; data: Buffer; version: number }
  | { type: number; path: string; version: number };
const OP_CODE = { create: 1, remove: 2, set: 5, check: 13 } as const;

// The library's connection manager, for the reconnect watchdog (see ZkSession.watchReconnect).
interface RawConnectionManager {
  socket?: { destroy(): void };
  pendingBuffer?: Buffer | null;
}

/**
 * How long a reconnect may sit on one TCP connection without the session coming back. The
 * library clears its connect timer once TCP connects and has no timer for the handshake, so a
 * connection a restarting server accepted but never answered would hang it forever (seen after
 * a kill -9 and restart of a server: most clients never reconnected nor expired).
 */
export function reconnectHandshakeMs(sessionTimeoutMs: number): number {
  return Math.max(500, Math.floor(sessionTimeoutMs / 3));
}

/**
 * One ZooKeeper session: a thin promise adapter over node-zookeeper-client. Every request has a
 * deadline; errors are `ZkError`s with a stable reason. Once expired or closed, the session is
 * dead for good: make a new one (ephemeral znodes belong to a session).
 */
export class ZkSession {
  private readonly stateListeners = new Set<(state: SessionState) => void>();
  /** Fails in-flight requests at once when the session dies: the library would leave them hanging. */
  private readonly inFlight = new Set<(error: ZkError) => void>();
  private dead = false;
  private reconnectWatchdog: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: zookeeper.Client,
    private readonly options: ZkConnectOptions,
  ) {
    client.on('state', (state) => this.onState(state));
  }

  static async connect(options: ZkConnectOptions): Promise<ZkSession> {
    assert(options.sessionTimeoutMs > 0, 'session timeout must be positive');
    assert(options.requestTimeoutMs > 0, 'request timeout must be positive');
    const client = zookeeper.createClient(options.servers, {
      sessionTimeout: options.sessionTimeoutMs,
      spinDelay: 100,
      retries: 0,
    });
    if (options.credentials) {
      const secret = `${options.credentials.user}:${options.credentials.password}`;
      client.addAuthInfo('digest', Buffer.from(secret));
    }
    const session = new ZkSession(client, options);
    await session.waitConnected();
    return session;
  }

  /** The session timeout the server granted (it bounds what was asked for by its tick time). */
  get sessionTimeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  get isDead(): boolean {
    return this.dead;
  }

  onStateChange(listener: (state: SessionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  create(path: string, data: Uint8Array, acl: readonly ZkAcl[], mode: CreateMode): Promise<string> {
    checkData(path, data);
    return this.request(path, (done) =>
      this.client.create(path, Buffer.from(data), toAcls(acl), CREATE_MODE[mode], done),
    );
  }

  async getData(path: string, watcher?: Watcher): Promise<{ data: Uint8Array; stat: ZkStat }> {
    const [data, stat] = await this.request<[Buffer, zookeeper.Stat]>(path, (done) => {
      const callback = (
        error: Error | zookeeper.Exception | null,
        bytes: Buffer,
        info: zookeeper.Stat,
      ) => done(error, [bytes ?? Buffer.alloc(0), info]);
      if (watcher) this.client.getData(path, () => watcher(), callback);
      else this.client.getData(path, callback);
    });
    return { data: new Uint8Array(data), stat: toStat(stat) };
  }

  async exists(path: string, watcher?: Watcher): Promise<ZkStat | undefined> {
    const stat = await this.request<zookeeper.Stat | null>(path, (done) => {
      if (watcher) this.client.exists(path, () => watcher(), done);
      else this.client.exists(path, done);
    });
    return stat ? toStat(stat) : undefined;
  }

  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.request<string[]>(path, (done) => {
      const callback = (error: Error | zookeeper.Exception | null, children: string[]) =>
        done(error, children);
      if (watcher) this.client.getChildren(path, () => watcher(), callback);
      else this.client.getChildren(path, callback);
    });
  }

  async setData(path: string, data: Uint8Array, version: number): Promise<ZkStat> {
    checkData(path, data);
    const stat = await this.request<zookeeper.Stat>(path, (done) =>
      this.client.setData(path, Buffer.from(data), version, done),
    );
    return toStat(stat);
  }

  remove(path: string, version: number): Promise<void> {
    return this.request(path, (done) =>
      this.client.remove(path, version, (error) => done(error, undefined)),
    );
  }

  async getAcl(path: string): Promise<ZkAcl[]> {
    const acls = await this.request<zookeeper.ACL[]>(path, (done) =>
      this.client.getACL(path, (error, list) => done(error, list)),
    );
    return acls.map((acl) => ({
      perms: acl.perms,
      scheme: acl.id.scheme as ZkAcl['scheme'],
      id: acl.id.id,
    }));
  }

  /** Creates `path` and any missing parents (persistent, with `acl`); existing ones are kept. */
  async ensurePath(path: string, acl: readonly ZkAcl[]): Promise<void> {
    let prefix = '';
    for (const segment of path.split('/').slice(1)) {
      prefix += `/${segment}`;
      if (await this.exists(prefix)) continue;
      try {
        await this.create(prefix, new Uint8Array(0), acl, 'persistent');
      } catch (error) {
        if (!(error instanceof ZkError && error.reason === 'node_exists')) throw error;
      }
    }
  }

  /** All operations succeed together or none does; a failure names the failing op's index. */
  multi(ops: readonly ZkOp[]): Promise<undefined> {
    assert(ops.length > 0, 'a multi needs at least one operation');
    for (const op of ops) if (op.op === 'create' || op.op === 'set') checkData(op.path, op.data);
    const transaction = this.client.transaction();
    (transaction as unknown as { ops: RawOp[] }).ops.push(...ops.map(toRawOp));
    return this.request<undefined>(ops[0]!.path, (done) =>
      transaction.commit((error, results: unknown) => {
        if (!error) return done(null, undefined);
        const index = failedOpIndex(results);
        const code = (error as zookeeper.Exception).code;
        const reason = typeof code === 'number' ? reasonForCode(code) : 'other';
        done(
          new ZkError(reason, `multi failed at op ${index}: ${String(error)}`, index),
          undefined,
        );
      }),
    );
  }

  /** Ends the session: its ephemeral znodes go at once. Never throws. */
  async close(): Promise<void> {
    this.stopReconnectWatch();
    if (this.dead) return;
    this.dead = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.requestTimeoutMs);
      this.client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.close();
    });
    this.stateListeners.clear();
  }

  private waitConnected(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dead = true;
        this.client.close();
        reject(
          new ZkError(
            'timeout',
            `no ZooKeeper connection to ${this.options.servers} within ${this.options.connectTimeoutMs} ms`,
          ),
        );
      }, this.options.connectTimeoutMs);
      this.client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.connect();
    });
  }

  private onState(state: zookeeper.State): void {
    const mapped = mapState(state);
    if (mapped === undefined) return;
    if (mapped === 'disconnected' && !this.dead) this.watchReconnect();
    else this.stopReconnectWatch();
    if (mapped === 'expired' || mapped === 'auth_failed') {
      this.dead = true;
      const reason = mapped === 'expired' ? 'session_expired' : 'auth_failed';
      for (const fail of [...this.inFlight])
        fail(new ZkError(reason, `ZooKeeper session ${mapped}`));
    }
    this.options.logger?.debug('zookeeper session state', {
      state: mapped,
      session: this.sessionId,
    });
    for (const listener of [...this.stateListeners]) listener(mapped);
  }

  /**
   * While disconnected: a TCP connection that outlives `reconnectHandshakeMs` without the
   * session coming back is destroyed, so the library tries again (a new connection, or the
   * next server). Also drops a partial frame left over from the dead connection, which the
   * library would otherwise glue in front of the new connection's first answer.
   */
  private watchReconnect(): void {
    const manager = (this.client as unknown as { connectionManager?: RawConnectionManager })
      .connectionManager;
    if (manager) manager.pendingBuffer = null;
    if (this.reconnectWatchdog || !manager) return;
    let seen: RawConnectionManager['socket'];
    this.reconnectWatchdog = setInterval(() => {
      const socket = manager.socket;
      if (socket && socket === seen) {
        this.options.logger?.debug('zookeeper reconnect stalled; trying a new connection', {
          session: this.sessionId,
        });
        socket.destroy();
        seen = undefined;
        return;
      }
      seen = socket;
    }, reconnectHandshakeMs(this.options.sessionTimeoutMs));
    this.reconnectWatchdog.unref();
  }

  private stopReconnectWatch(): void {
    clearInterval(this.reconnectWatchdog);
    this.reconnectWatchdog = undefined;
  }

  private request<T>(
    path: string,
    start: (done: (error: Error | zookeeper.Exception | null, value: T) => void) => void,
  ): Promise<T> {
    if (this.dead) return Promise.reject(new ZkError('closed', `session is closed (${path})`));
    return new Promise<T>((resolve, reject) => {
      const finish = (error: ZkError | undefined, value?: T): void => {
        if (!this.inFlight.delete(fail)) return;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value as T);
      };
      const fail = (error: ZkError): void => finish(error);
      this.inFlight.add(fail);
      const timer = setTimeout(() => {
        const timeoutMs = this.options.requestTimeoutMs;
        finish(new ZkError('timeout', `ZooKeeper request on ${path} took over ${timeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      start((error, value) => finish(error ? toZkError(error, path) : undefined, value));
    });
  }
}

function checkData(path: string, data: Uint8Array): void {
  // The library asserts (throws) on oversized data; callers get a typed error instead.
  if (data.byteLength >= ZNODE_BYTES_MAX) {
    throw new ZkError(
      'other',
      `data for ${path} is ${data.byteLength} bytes; ZooKeeper's limit is ${ZNODE_BYTES_MAX}`,
    );
  }
}

function toRawOp(op: ZkOp): RawOp {
  switch (op.op) {
    case 'create':
      return {
        type: OP_CODE.create,
        path: op.path,
        data: Buffer.from(op.data),
        acls: toAcls(op.acl),
        mode: zookeeper.CreateMode.PERSISTENT,
      };
    case 'set':
      return { type: OP_CODE.set, path: op.path, data: Buffer.from(op.data), version: op.version };
    case 'check':
      return { type: OP_CODE.check, path: op.path, version: op.version };
    case 'remove':
      return { type: OP_CODE.remove, path: op.path, version: op.version };
  }
}

function failedOpIndex(results: unknown): number {
  if (!Array.isArray(results)) return -1;
  return results.findIndex(
    (result: { err?: number }) => typeof result.err === 'number' && result.err !== 0,
  );
}

function toAcls(acl: readonly ZkAcl[]): zookeeper.ACL[] {
  assert(acl.length > 0, 'an ACL needs at least one entry');
  return acl.map(
    (entry) => new zookeeper.ACL(entry.perms, new zookeeper.Id(entry.scheme, entry.id)),
  );
}

function toStat(stat: zookeeper.Stat): ZkStat {
  return {
    version: stat.version,
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
    ephemeralOwner: stat.ephemeralOwner.toString('hex'),
  };
}

function toZkError(error: Error | zookeeper.Exception, path: string): ZkError {
  if (error instanceof ZkError) return error;
  const code = (error as zookeeper.Exception).code;
  const reason = typeof code === 'number' ? reasonForCode(code) : 'other';
  return new ZkError(reason, `${String(error)} (${path})`);
}

function mapState(state: zookeeper.State): SessionState | undefined {
  switch (state.code) {
    case zookeeper.State.SYNC_CONNECTED.code:
      return 'connected';
    case zookeeper.State.DISCONNECTED.code:
      return 'disconnected';
    case zookeeper.State.EXPIRED.code:
      return 'expired';
    case zookeeper.State.AUTH_FAILED.code:
      return 'auth_failed';
    default:
      return undefined;
  }
}
