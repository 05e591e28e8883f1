/**
 * The master process: loads its key, trust store, HTTP credentials and component store, serves
 * HTTP, and runs one leading term on a registry store (single master: the file registry in the
 * work dir, leading from the start). The term is separate from the server so that a leader
 * election can start and stop terms on the same server (master/server/leadership.ts): while no
 * term runs, every request answers 503.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.js';
import { WasmosError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import {
  loadPrivateKey,
  loadTrustStore,
  ReplayGuard,
  Signer,
  type Identity,
  type TrustStore,
} from '../../protocol/index.js';
import { TrustReloader } from '../../protocol/keys/trust-reload.js';
import { BlobStore } from '../blobs/blob-store.js';
import { BLOB_LIMITS, type BlobLimits } from '../blobs/limits.js';
import type { CoreLimits, CoreTimings } from '../core/limits.js';
import { HttpCredentials } from '../http/credentials.js';
import { FileRegistryStore } from '../registry/file-store.js';
import type { RegistryStore } from '../registry/store.js';
import { createMasterApp } from './app.js';
import {
  DEFAULT_MASTER_HTTP_LIMITS,
  type MasterContext,
  type MasterHttpLimits,
} from './context.js';
import { MasterDriver } from './driver.js';
import { StreamTable } from './streams.js';

/** Defaults of `wasmos master` (docs/MASTER.md). */
export const MASTER_DEFAULTS = {
  port: 5050,
  host: '127.0.0.1',
} as const;

export interface MasterProcessOptions {
  readonly workDir: string;
  /** The master's Ed25519 private key (PEM, mode 0600): signs every event. */
  readonly keyFile: string;
  /** Public keys of frameworks and agents (and operators) this master accepts. */
  readonly trustDir: string;
  /** 0 binds an ephemeral port (the actual one is returned). */
  readonly port?: number;
  readonly host?: string;
  /** Reload the trust directory on SIGHUP and when it changes (default true). */
  readonly reloadTrust?: boolean;
  /** Enables the JSON scheduler API with these HTTP Basic credentials (Mesos format). */
  readonly credentialsFile?: string;
  readonly timings?: Partial<CoreTimings>;
  readonly limits?: Partial<CoreLimits>;
  readonly httpLimits?: Partial<MasterHttpLimits>;
  readonly blobLimits?: Partial<BlobLimits>;
  /** Where the registry lives; default the file registry in `workDir`. */
  readonly store?: RegistryStore;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** The registry became unwritable (or another master wrote it): this master stopped leading. */
  readonly onFatal?: (message: string) => void;
}

export interface RunningMaster {
  readonly url: string;
  readonly port: number;
  readonly masterId: string;
  readonly keyId: string;
  /** The running term's context (undefined once stopped): for tests and in-process frameworks. */
  readonly context: MasterContext | undefined;
  stop(): Promise<void>;
}

/** What every term of this process shares: loaded once at start. */
export interface MasterResources {
  readonly identity: Identity;
  readonly trust: TrustStore;
  /** Keeps `trust` in step with the trust directory (new framework keys need no restart). */
  readonly trustReloader: TrustReloader | undefined;
  readonly credentials: HttpCredentials | undefined;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly httpLimits: MasterHttpLimits;
  readonly timings: Partial<CoreTimings>;
  readonly limits: Partial<CoreLimits>;
}

/** One leading term: a driver on a registry store, its streams, and the app serving them. */
export interface LeadingTerm {
  readonly context: MasterContext;
  readonly app: Hono;
  stop(): void;
}

export async function loadMasterResources(options: MasterProcessOptions): Promise<MasterResources> {
  const workDir = resolve(options.workDir);
  await mkdir(workDir, { recursive: true });
  const identity = await loadPrivateKey(options.keyFile);
  if (!identity.ok) throw new WasmosError(identity.error.code, identity.error.message);
  const trust = await loadTrustStore(options.trustDir);
  if (!trust.ok) throw new WasmosError(trust.error.code, trust.error.message);
  let credentials: HttpCredentials | undefined;
  if (options.credentialsFile !== undefined) {
    const loaded = await HttpCredentials.load(options.credentialsFile);
    if (!loaded.ok) throw new WasmosError('BAD_CREDENTIALS', loaded.error);
    credentials = loaded.value;
  }
  const httpLimits = { ...DEFAULT_MASTER_HTTP_LIMITS, ...options.httpLimits };
  const blobLimits = {
    ...BLOB_LIMITS,
    blobBytesMax: httpLimits.blobBytesMax,
    ...options.blobLimits,
  };
  const log = options.log ?? createLogger('master');
  const blobs = await BlobStore.open(join(workDir, 'blobs'), blobLimits);
  // Last: nothing after it may fail, or its watcher and signal handler would outlive the start.
  const trustReloader =
    options.reloadTrust === false
      ? undefined
      : new TrustReloader({ dir: options.trustDir, store: trust.value, logger: log });
  return {
    identity: identity.value,
    trust: trust.value,
    trustReloader,
    credentials,
    blobs,
    clock: options.clock ?? systemClock,
    log,
    httpLimits: { ...httpLimits, blobBytesMax: blobLimits.blobBytesMax },
    timings: options.timings ?? {},
    limits: options.limits ?? {},
  };
}

/**
 * Starts leading on `store`: recovers the registry and builds the routes. A fresh random master
 * id per term, so ids handed out (frameworks, agents, offers) never collide with a former term's.
 */
export async function startLeadingTerm(
  resources: MasterResources,
  store: RegistryStore,
  onFatal: (message: string) => void,
): Promise<LeadingTerm> {
  const masterId = randomBytes(6).toString('hex');
  const log = resources.log;
  const started = await MasterDriver.start({
    core: {
      masterId,
      seed: randomInt(2 ** 31),
      timings: resources.timings,
      limits: resources.limits,
    },
    store,
    clock: resources.clock,
    log,
    onFatal: (error) => onFatal(`registry write failed (${error.code}): ${error.message}`),
  });
  if (!started.ok) throw new WasmosError('REGISTRY_INVALID', started.error);
  const driver = started.value;
  const streams = new StreamTable();
  driver.attach(streams);
  const context: MasterContext = {
    masterId,
    driver,
    streams,
    signer: new Signer(resources.identity, { clock: resources.clock }),
    trust: resources.trust,
    replay: new ReplayGuard(),
    clock: resources.clock,
    log,
    blobs: resources.blobs,
    ...(resources.credentials ? { credentials: resources.credentials } : {}),
    limits: resources.httpLimits,
  };
  return {
    context,
    app: createMasterApp(context),
    stop() {
      driver.stop();
      streams.closeAll();
    },
  };
}

/** The HTTP server; `fetch` is asked per request, so terms can come and go under it. */
export async function serveMaster(
  fetch: (request: Request) => Response | Promise<Response>,
  port: number,
  host: string,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolvePromise, reject) => {
    const server = serve({ fetch, port, hostname: host }, (info: AddressInfo) =>
      resolvePromise({ server, port: info.port }),
    );
    server.once('error', (error: Error) =>
      reject(
        new WasmosError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${error.message}`),
      ),
    );
  });
}

const NO_TERM_BODY = JSON.stringify({
  error: { code: 'NOT_LEADING', message: 'this master is not serving; retry shortly' },
});

/** `wasmos master`: a single master leading from the start on its file registry. */
export async function startMaster(options: MasterProcessOptions): Promise<RunningMaster> {
  const resources = await loadMasterResources(options);
  const store = options.store ?? new FileRegistryStore(resolve(options.workDir));
  let term: LeadingTerm | undefined;
  const stopTerm = (): void => {
    term?.stop();
    term = undefined;
  };
  const host = options.host ?? MASTER_DEFAULTS.host;
  let served;
  try {
    term = await startLeadingTerm(resources, store, (message) => {
      resources.log.error('this master stopped leading', { error: message });
      stopTerm();
      options.onFatal?.(message);
    });
    served = await serveMaster(
      (request) =>
        term
          ? term.app.fetch(request)
          : new Response(NO_TERM_BODY, {
              status: 503,
              headers: { 'content-type': 'application/json', 'retry-after': '1' },
            }),
      options.port ?? MASTER_DEFAULTS.port,
      host,
    );
  } catch (error) {
    stopTerm();
    await resources.trustReloader?.close();
    await store.close();
    throw error;
  }
  const { server, port } = served;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const masterId = term.context.masterId;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    masterId,
    keyId: resources.identity.keyId,
    get context() {
      return term?.context;
    },
    stop() {
      stopping ??= (async () => {
        stopTerm();
        await new Promise<void>((done) => {
          server.close(() => done());
          // Event streams and keep-alive connections would hold close() open.
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
        await resources.trustReloader?.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
