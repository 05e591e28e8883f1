/**
 * `wasmos master --zk ...`: one of several masters sharing a ZooKeeper ensemble. The HTTP
 * server runs from the start; the master joins the election, and only while it leads does a
 * leading term (driver + routes on the ZooKeeper registry) answer requests. Otherwise a small
 * standby app answers: read-only state naming the leader, and 307 to the leader (503 when none
 * is known) for everything else, framework and agent calls included.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { WasmosError } from '../../lib/errors.js';
import { readCredentialsFile } from '../../lib/zookeeper/credentials.js';
import { parseZkUrl, type ZkCredentials, type ZkUrl } from '../../lib/zookeeper/url.js';
import { rawPublicKey } from '../../protocol/keys/key-id.js';
import { parseDigest, type Digest } from '../blobs/digest.js';
import { REPLICATION_LIMITS, type ReplicationLimits } from '../blobs/limits.js';
import { BlobReplication, REPLICA_PREFIX } from '../blobs/replication.js';
import { DEFAULT_ELECTION_LIMITS } from '../election/limits.js';
import type { MasterInfo } from '../election/layout.js';
import {
  LEADER_HEADER,
  NO_LEADER_RETRY_AFTER_S,
  leaderGate,
  leaderSummary,
  redirectTarget,
} from './leader-gate.js';
import { DEFAULT_LEADERSHIP_LIMITS, Leadership } from './leadership.js';
import {
  MASTER_DEFAULTS,
  loadMasterResources,
  serveMaster,
  startLeadingTerm,
  type LeadingTerm,
  type MasterProcessOptions,
} from './master-process.js';

/**
 * How long a request to a master that holds the lease but is still starting its term (recovering
 * the registry, building the core) waits for it to serve, instead of an immediate 503 the client
 * would back off from: this is most of a failover's tail.
 */
export const ELECTED_START_HOLD_MS = 3_000;
const ELECTED_START_POLL_MS = 20;

export interface HaMasterOptions extends Omit<MasterProcessOptions, 'store' | 'onFatal'> {
  readonly zk: ZkUrl;
  /** The masters' digest credentials (from `--zk-credentials FILE` or the URL). */
  readonly zkCredentials?: ZkCredentials;
  readonly sessionTimeoutMs?: number;
  /**
   * The URL other masters redirect clients to. Default: the listening address, which is only
   * right when clients can reach it (not for 0.0.0.0).
   */
  readonly advertiseUrl?: string;
  /** Blob replication between the masters (docs/HA.md); defaults: `REPLICATION_LIMITS`. */
  readonly blobReplication?: Partial<ReplicationLimits>;
}

/** `/api/v1/blobs/<digest>`: uploads and downloads the leader wraps with replication. */
const BLOB_PATH = /^\/api\/v1\/blobs\/([^/]+)$/;

export interface RunningHaMaster {
  readonly url: string;
  readonly port: number;
  /** This master's id in the election (stable for the process; the core's id changes per term). */
  readonly id: string;
  readonly keyId: string;
  readonly leadership: Leadership;
  stop(): Promise<void>;
}

export async function startHaMaster(options: HaMasterOptions): Promise<RunningHaMaster> {
  if (options.advertiseUrl !== undefined && !redirectTarget(options.advertiseUrl, 'http://x/')) {
    throw new WasmosError(
      'BAD_OPTION',
      `--advertise-url must be an http(s) URL without credentials, query or fragment: ${options.advertiseUrl}`,
    );
  }
  const resources = await loadMasterResources(options);
  const log = resources.log;
  const id = `master-${randomBytes(6).toString('hex')}`;
  let term: LeadingTerm | undefined;
  // Created once the server listens (its address goes into the election znode).
  const elected: { leadership?: Leadership } = {};
  const standby = standbyApp(id, () => elected.leadership);
  const replication = new BlobReplication({
    store: resources.blobs,
    selfId: id,
    identity: resources.identity,
    trust: resources.trust,
    clock: resources.clock,
    view: {
      peers: () => elected.leadership?.peers(),
      isServing: () => elected.leadership?.isServing() ?? false,
    },
    limits: { ...REPLICATION_LIMITS, ...options.blobReplication },
    blobBytesMax: resources.httpLimits.blobBytesMax,
    peerUrl: (address, path) => redirectTarget(address, `http://peer${path}`),
    logger: log,
  });
  const replicaApp = new Hono().route(REPLICA_PREFIX, replication.routes());
  const host = options.host ?? MASTER_DEFAULTS.host;
  let served;
  try {
    served = await serveMaster(
      async (request) => {
        const leadership = elected.leadership;
        if (leadership?.isLeading() && !leadership.isServing()) {
          const deadlineMs = Date.now() + ELECTED_START_HOLD_MS;
          while (leadership.isLeading() && !leadership.isServing() && Date.now() < deadlineMs)
            await new Promise((resolve) => setTimeout(resolve, ELECTED_START_POLL_MS));
        }
        const path = request.url.includes('/blobs') ? new URL(request.url).pathname : '';
        // Every master serves its copies, leading or not.
        if (path.startsWith(REPLICA_PREFIX)) return replicaApp.fetch(request);
        const leading = term;
        // The lease is checked on every request: a deposed master must not answer as leader.
        if (leading && leadership?.isServing()) {
          const blob = parseDigest(BLOB_PATH.exec(path)?.[1] ?? '');
          const response = blob
            ? await replicatedBlobRequest(request, blob, leading.app, replication)
            : await leading.app.fetch(request);
          return withLeaderHeader(response, leadership.self.address);
        }
        return standby.fetch(request);
      },
      options.port ?? MASTER_DEFAULTS.port,
      host,
    );
  } catch (error) {
    await resources.trustReloader?.close();
    throw error;
  }
  const { server, port } = served;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const info: MasterInfo = {
    id,
    address: options.advertiseUrl ?? url,
    publicKey: Buffer.from(rawPublicKey(resources.identity.publicKey)).toString('base64'),
  };
  const leadership = new Leadership({
    servers: options.zk.servers,
    rootPath: options.zk.rootPath,
    info,
    ...(options.zkCredentials ? { credentials: options.zkCredentials } : {}),
    limits: {
      ...DEFAULT_LEADERSHIP_LIMITS,
      election: {
        ...DEFAULT_ELECTION_LIMITS,
        sessionTimeoutMs: options.sessionTimeoutMs ?? DEFAULT_ELECTION_LIMITS.sessionTimeoutMs,
      },
    },
    logger: log,
    startLeading: async (store, leadingTerm) => {
      const started = await startLeadingTerm(resources, store, (message) =>
        leadingTerm.failed(message),
      );
      term = started;
      log.info('leading master started', { id, masterId: started.context.masterId });
      return {
        stop: async () => {
          if (term === started) term = undefined;
          started.stop();
        },
      };
    },
  });
  elected.leadership = leadership;
  leadership.start();
  replication.start();
  const running = leadership;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    id,
    keyId: resources.identity.keyId,
    leadership: running,
    stop() {
      stopping ??= (async () => {
        await replication.stop();
        await running.stop();
        await new Promise<void>((done) => {
          server.close(() => done());
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
        await resources.trustReloader?.close();
      })();
      return stopping;
    },
  };
}

/**
 * A blob request on the leader. A download of a blob this master lacks (it was uploaded to
 * an earlier leader) first fetches it from a peer; HEAD answers 200 only for a replicated blob. An upload is acknowledged only once
 * enough other masters hold a copy (`replicasMin`), so a kill of this master right after the
 * answer loses nothing; otherwise 503 NOT_REPLICATED (the blob stays here, and a retry is
 * cheap).
 */
async function replicatedBlobRequest(
  request: Request,
  digest: Digest,
  app: Hono,
  replication: BlobReplication,
): Promise<Response> {
  if (request.method === 'GET' || request.method === 'HEAD') {
    await replication.ensureLocal(digest);
    const response = await app.fetch(request);
    // A client asks HEAD to skip an upload: "have it" must promise what an acknowledged
    // upload does, so a blob held here alone (its replication failed) is reported missing
    // and the client uploads again (and learns if replication still fails).
    if (request.method === 'GET' || response.status !== 200) return response;
    return (await replication.replicate(digest)).ok
      ? response
      : new Response(null, { status: 404 });
  }
  const response = await app.fetch(request);
  if (request.method !== 'PUT' || (response.status !== 200 && response.status !== 201))
    return response;
  const stored = (await response.json()) as Record<string, unknown>;
  const replicated = await replication.replicate(digest);
  if (!replicated.ok) {
    return Response.json(
      {
        error: {
          code: 'NOT_REPLICATED',
          message: `stored on the leader but no other master took a copy in time: ${replicated.error}`,
        },
      },
      { status: 503, headers: { 'retry-after': String(NO_LEADER_RETRY_AFTER_S) } },
    );
  }
  return Response.json(
    { ...stored, replicas: replicated.value.replicas },
    { status: response.status },
  );
}

/** What a master that does not lead (or not yet) answers. */
function standbyApp(id: string, leadership: () => Leadership | undefined): Hono {
  const view = {
    isServing: () => leadership()?.isServing() ?? false,
    leader: () => leadership()?.leader(),
  };
  const app = new Hono();
  app.get('/health', (c) => c.json({ healthy: true, id, ...leaderSummary(view) }));
  app.get('/api/v1/state', (c) =>
    c.json({ id, ...leaderSummary(view) }, 200, leaderHeaders(view.leader())),
  );
  app.use('*', leaderGate(view));
  // Reached only if this master started serving between the gate's check and here.
  app.all('*', (c) =>
    c.json({ error: { code: 'NOT_LEADING', message: 'leadership changed; retry' } }, 503),
  );
  return app;
}

function leaderHeaders(leader: MasterInfo | undefined): Record<string, string> {
  return leader ? { [LEADER_HEADER]: leader.address } : {};
}

function withLeaderHeader(response: Response, address: string): Response {
  try {
    response.headers.set(LEADER_HEADER, address);
    return response;
  } catch {
    // Immutable headers (a fetched response passed through): copy it.
    const copy = new Response(response.body, response);
    copy.headers.set(LEADER_HEADER, address);
    return copy;
  }
}

/** Checks the HA flags' values at the edge (the CLI calls this before starting). */
export function checkSessionTimeoutMs(value: number): number {
  if (!Number.isFinite(value) || value < 1000 || value > 60_000) {
    throw new WasmosError(
      'BAD_OPTION',
      `--zk-session-timeout must be between 1s and 60s, got ${value} ms`,
    );
  }
  return value;
}

/** The HA part of `wasmos master`'s flags, checked: `--zk`, `--zk-credentials`, `--zk-session-timeout`. */
export async function haFlags(flags: {
  readonly zk: string;
  readonly credentialsFile?: string;
  readonly sessionTimeoutMs?: number;
}): Promise<Pick<HaMasterOptions, 'zk' | 'zkCredentials' | 'sessionTimeoutMs'>> {
  const zk = parseZkUrl(flags.zk);
  if (!zk.ok) throw new WasmosError('BAD_OPTION', `--zk: ${zk.error}`);
  let zkCredentials = zk.value.credentials;
  if (flags.credentialsFile !== undefined) {
    const read = await readCredentialsFile(flags.credentialsFile);
    if (!read.ok) throw new WasmosError('BAD_OPTION', `--zk-credentials: ${read.error}`);
    zkCredentials = read.value;
  }
  const sessionTimeoutMs = checkSessionTimeoutMs(
    flags.sessionTimeoutMs ?? DEFAULT_ELECTION_LIMITS.sessionTimeoutMs,
  );
  return { zk: zk.value, sessionTimeoutMs, ...(zkCredentials ? { zkCredentials } : {}) };
}
