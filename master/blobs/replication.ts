/**
 * Blob replication between the masters of one election (`wasmos master --zk`), so that a
 * failover loses no uploaded component:
 *
 * - every master serves its own copies under `/api/v1/replica/blobs` (a listing and the bytes),
 *   leading or not;
 * - the leader acknowledges an upload only once `replicasMin` other masters hold it: it asks
 *   each (`POST /api/v1/replica/blobs/<hex>`, a signed `master.replicate`) to fetch the blob
 *   from it;
 * - a master that misses a blob somebody asks for (an agent, after a failover) fetches it from
 *   its peers first;
 * - every master compares its blobs with every peer's every `mirrorIntervalMs` and fetches what
 *   it lacks (masters that were down during an upload, a new master).
 *
 * A peer's bytes go through `BlobStore.put`, which checks them against the digest and the size
 * limits, so a peer cannot plant a blob under a wrong name nor grow a store past its limits.
 *
 * The calls that start work or reveal what a master holds (asking it to fetch, its listing) are
 * signed envelopes from a master in the election (replica-auth.ts); the bytes of a blob, named
 * by their digest, are open like `GET /api/v1/blobs/<digest>`.
 */
import { Hono } from 'hono';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';
import type { Identity, TrustStore } from '../../protocol/index.js';
import type { BlobStore } from './blob-store.js';
import { type Digest, digestHex, parseDigest } from './digest.js';
import type { ReplicationLimits } from './limits.js';
import type { Peer } from './peer.js';
import {
  REPLICA_MEDIA_TYPE,
  ReplicaAuth,
  senderAmong,
  type ReplicaCall,
  type ReplicaCallType,
  type ReplicaRefusal,
} from './replica-auth.js';

export type { Peer } from './peer.js';

/** Where replicas are served on every master. */
export const REPLICA_PREFIX = '/api/v1/replica/blobs';

/** What replication needs to know about the election (`Leadership` provides it). */
export interface ReplicationView {
  /** The other masters in the election; undefined until they were first listed. */
  peers(): readonly Peer[] | undefined;
  /** True while this master serves as leader. */
  isServing(): boolean;
}

export interface BlobReplicationOptions {
  readonly store: BlobStore;
  /** This master's id in the election (sent as `from` when asking peers to fetch). */
  readonly selfId: string;
  /** This master's key: signs its replica calls (the masters of an election share it). */
  readonly identity: Identity;
  /** The master's trust store: replica calls are accepted from its `master` keys only. */
  readonly trust: TrustStore;
  readonly clock?: Clock;
  readonly view: ReplicationView;
  readonly limits: ReplicationLimits;
  /** The largest blob this master stores (its `blobBytesMax`). */
  readonly blobBytesMax: number;
  /**
   * Builds the URL of `path` on a master from its advertised address (which comes from
   * ZooKeeper); undefined when the address is not a usable http(s) origin.
   */
  readonly peerUrl: (address: string, path: string) => string | undefined;
  readonly logger?: Logger;
}

const HEX = /^[0-9a-f]{64}$/;
/** The most of a peer's answer to an ask to replicate that is read (it is a small JSON). */
const ANSWER_BYTES_MAX = 16 * 1024;
/** How often an upload waiting for the election's first listing looks again. */
const PEERS_POLL_MS = 50;

const ListingSchema = z.strictObject({
  blobs: z.array(
    z.strictObject({
      digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
      bytes: z.number().int().nonnegative(),
    }),
  ),
  next: z.string().regex(HEX).optional(),
});
type Listing = z.infer<typeof ListingSchema>;

const errorBody = (code: string, message: string) => ({ error: { code, message } });

export class BlobReplication {
  private readonly inFlight = new Map<Digest, Promise<Result<boolean, string>>>();
  private readonly logger: Logger;
  private stopped = false;
  /** Aborts downloads and listings in flight when the master stops. */
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;
  private mirroring: Promise<void> | undefined;
  private readonly auth: ReplicaAuth;

  constructor(private readonly options: BlobReplicationOptions) {
    this.logger = options.logger ?? silentLogger;
    const { limits } = options;
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 0)
        throw new Error(`replication limit ${name} must be a non-negative integer`);
    }
    if (
      limits.fetchesMax < 1 ||
      limits.listPageMax < 1 ||
      limits.mirrorIntervalMs < 1 ||
      limits.callBytesMax < 1
    )
      throw new Error(
        'fetchesMax, listPageMax, mirrorIntervalMs and callBytesMax must be positive',
      );
    this.auth = new ReplicaAuth({
      selfId: options.selfId,
      identity: options.identity,
      trust: options.trust,
      callBytesMax: limits.callBytesMax,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  /** The routes every master serves under `REPLICA_PREFIX`, leading or not. */
  routes(): Hono {
    const { store, limits } = this.options;
    const routes = new Hono();
    // The listing names every blob this master holds: only masters of the election may read it.
    routes.get('/', (c) =>
      c.json(
        errorBody(
          'SIGNED_CALL_REQUIRED',
          'the listing is a POST of a signed master.list_blobs envelope (docs/HA.md)',
        ),
        405,
        { allow: 'POST' },
      ),
    );
    routes.post('/', async (c) => {
      const call = await this.authenticate(c.req.raw, 'master.list_blobs');
      if (!call.ok)
        return c.json(errorBody(call.error.code, call.error.message), call.error.status);
      const after = call.value.body.after ?? '';
      const limit = call.value.body.limit ?? limits.listPageMax;
      if (limit > limits.listPageMax)
        return c.json(
          errorBody('BAD_LIMIT', `limit must be 1 to listPageMax (${limits.listPageMax})`),
          400,
        );
      const blobs = await store.list(after, limit);
      const last = blobs.at(-1);
      const listing: Listing = {
        blobs: blobs.map((blob) => ({ digest: blob.digest, bytes: blob.bytes })),
        ...(blobs.length === limit && last ? { next: digestHex(last.digest) } : {}),
      };
      return c.json(listing);
    });
    routes.on(['GET', 'HEAD'], '/:sha256', async (c) => {
      const digest = parseDigest(c.req.param('sha256'));
      if (!digest) return c.json(errorBody('BAD_DIGEST', 'the path must be a sha256 digest'), 400);
      const found = await store.read(digest);
      if (!found) return c.json(errorBody('NOT_FOUND', `no replica of ${digest}`), 404);
      const headers = { 'content-type': 'application/wasm', 'content-length': String(found.bytes) };
      if (c.req.method === 'HEAD') {
        found.stream.destroy();
        return c.body(null, 200, headers);
      }
      return c.body(
        Readable.toWeb(found.stream) as unknown as ReadableStream<Uint8Array>,
        200,
        headers,
      );
    });
    // The leader asks: fetch this blob from me (`from`) and answer once it is stored here.
    routes.post('/:sha256', async (c) => {
      const digest = parseDigest(c.req.param('sha256'));
      if (!digest) return c.json(errorBody('BAD_DIGEST', 'the path must be a sha256 digest'), 400);
      const call = await this.authenticate(c.req.raw, 'master.replicate');
      if (!call.ok)
        return c.json(errorBody(call.error.code, call.error.message), call.error.status);
      // Signed for this digest only: the envelope cannot be replayed against another path.
      if (call.value.body.digest !== digest)
        return c.json(
          errorBody('WRONG_DIGEST', `the call asks for ${call.value.body.digest}, not ${digest}`),
          400,
        );
      if (this.options.view.isServing())
        return c.json(errorBody('LEADING', 'the leader does not take replicas'), 409);
      const held = await store.info(digest);
      if (held) return c.json({ digest, bytes: held.bytes }, 200);
      // Only ever from the master in the election that signed the call: it cannot point this
      // master at an arbitrary address.
      const fetched = await this.fetchFrom(call.value.peer, digest);
      if (!fetched.ok) return c.json(errorBody('NOT_REPLICATED', fetched.error), 502);
      const stored = await store.info(digest);
      return c.json({ digest, bytes: stored?.bytes ?? 0 }, 201);
    });
    return routes;
  }

  /**
   * Opens a replica call (replica-auth.ts) and finds the master in the election that sent it.
   * A master that just started may not have listed the election yet: it waits for that
   * listing (up to `replicateTimeoutMs`) rather than refuse a master it has not seen.
   */
  private async authenticate<T extends ReplicaCallType>(
    request: Request,
    type: T,
  ): Promise<
    Result<{ readonly body: ReplicaCall<T>['body']; readonly peer: Peer }, ReplicaRefusal>
  > {
    const call = await this.auth.open(request, type);
    if (!call.ok) return call;
    const listed = await this.peersListed(this.deadline(this.options.limits.replicateTimeoutMs));
    if (!listed)
      return err({
        status: 503,
        code: 'UNKNOWN_PEER',
        message: 'this master has not listed the election yet; retry shortly',
      });
    const sender = senderAmong(listed, call.value.body.from, call.value.signer);
    if (!sender.ok) return sender;
    return ok({ body: call.value.body, peer: sender.value });
  }

  /**
   * Leader side of an upload: resolves once `replicasMin` other masters hold `digest` (fewer
   * when fewer are in the election), or with an error once that cannot happen or
   * `replicateTimeoutMs` passed.
   */
  async replicate(digest: Digest): Promise<Result<{ replicas: number }, string>> {
    const { limits } = this.options;
    const signal = this.deadline(limits.replicateTimeoutMs);
    // Not knowing the others yet (a master just elected) is not the same as being alone: wait
    // for the election's first listing rather than acknowledge on that.
    const targets = await this.peersListed(signal);
    if (!targets) return err('the other masters in the election are not known yet');
    const needed = Math.min(limits.replicasMin, targets.length);
    if (needed === 0) return ok({ replicas: 0 });
    const path = `${REPLICA_PREFIX}/${digestHex(digest)}`;
    return new Promise((resolve) => {
      let held = 0;
      let settled = 0;
      const errors: string[] = [];
      for (const peer of targets) {
        const call = this.auth.seal('master.replicate', peer.id, { digest });
        void this.post(peer, path, call, signal).then((asked) => {
          settled++;
          if (asked.ok) held++;
          else errors.push(`${peer.id}: ${asked.error}`);
          if (asked.ok && held === needed) resolve(ok({ replicas: held }));
          else if (settled === targets.length && held < needed)
            resolve(
              err(`${held} of ${needed} masters took a copy (${errors.join('; ') || 'no answer'})`),
            );
        });
      }
    });
  }

  /** The other masters once the election was first listed; undefined if `signal` fires first. */
  private async peersListed(signal: AbortSignal): Promise<readonly Peer[] | undefined> {
    let peers = this.options.view.peers();
    while (!peers && !signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, PEERS_POLL_MS));
      peers = this.options.view.peers();
    }
    return peers;
  }

  /** Makes sure this master holds `digest`, fetching it from a peer if needed. */
  async ensureLocal(digest: Digest): Promise<boolean> {
    if (await this.options.store.info(digest)) return true;
    for (const peer of this.options.view.peers() ?? []) {
      const fetched = await this.fetchFrom(peer, digest);
      if (fetched.ok) return true;
    }
    return false;
  }

  /** Starts comparing this master's blobs with its peers' every `mirrorIntervalMs`. */
  start(): void {
    if (this.mirroring || this.stopped) return;
    this.mirroring = (async () => {
      while (!this.stopped) {
        await this.mirrorOnce().catch((error: unknown) =>
          this.logger.warn('blob mirror round failed', { error: String(error) }),
        );
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.limits.mirrorIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new Error('the master is stopping'));
    this.wake?.();
    await this.mirroring;
    await Promise.all([...this.inFlight.values()]);
  }

  /** One round: every peer's listing, and each blob this master lacks fetched from that peer. */
  async mirrorOnce(): Promise<{ fetched: number; failed: number }> {
    const { store, blobBytesMax } = this.options;
    let fetched = 0;
    let failed = 0;
    for (const peer of this.options.view.peers() ?? []) {
      let after = '';
      while (!this.stopped) {
        const listing = await this.listPeer(peer, after);
        if (!listing.ok) {
          this.logger.debug('blob listing of a peer failed', {
            peer: peer.id,
            error: listing.error,
          });
          break;
        }
        for (const blob of listing.value.blobs) {
          if (this.stopped) break;
          const digest = blob.digest as Digest;
          if (blob.bytes > blobBytesMax || (await store.info(digest))) continue;
          const result = await this.fetchFrom(peer, digest);
          if (result.ok) fetched++;
          else {
            failed++;
            this.logger.warn('fetching a blob from a peer failed', {
              peer: peer.id,
              digest,
              error: result.error,
            });
          }
        }
        if (!listing.value.next || listing.value.blobs.length < 1) break;
        after = listing.value.next;
      }
    }
    if (fetched > 0) this.logger.info('blobs mirrored from peers', { fetched, failed });
    return { fetched, failed };
  }

  /** Fetches `digest` from `peer` into the store; one download per digest at a time. */
  fetchFrom(peer: Peer, digest: Digest): Promise<Result<boolean, string>> {
    const running = this.inFlight.get(digest);
    if (running) return running;
    if (this.inFlight.size >= this.options.limits.fetchesMax)
      return Promise.resolve(
        err(`fetchesMax (${this.options.limits.fetchesMax}) downloads already running`),
      );
    const fetching = this.download(peer, digest).finally(() => this.inFlight.delete(digest));
    this.inFlight.set(digest, fetching);
    return fetching;
  }

  private async download(peer: Peer, digest: Digest): Promise<Result<boolean, string>> {
    const { store, limits, blobBytesMax } = this.options;
    if (await store.info(digest)) return ok(false);
    const url = this.options.peerUrl(peer.address, `${REPLICA_PREFIX}/${digestHex(digest)}`);
    if (!url) return err(`unusable address ${JSON.stringify(peer.address)}`);
    try {
      const response = await fetch(url, { signal: this.deadline(limits.fetchTimeoutMs) });
      if (response.status !== 200 || !response.body) {
        await response.body?.cancel();
        return err(`${peer.id} answered ${response.status}`);
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > blobBytesMax) {
        await response.body.cancel();
        return err(`${peer.id} offers ${declared} bytes, more than blobBytesMax (${blobBytesMax})`);
      }
      const stored = await store.put(
        digest,
        Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>),
      );
      if (!stored.ok) return err(`${stored.error.code}: ${stored.error.message}`);
      return ok(stored.value.created);
    } catch (error) {
      return err(`fetching from ${peer.id} failed: ${String(error)}`);
    }
  }

  /** Aborted after `timeoutMs` or when the master stops, whichever comes first. */
  private deadline(timeoutMs: number): AbortSignal {
    return AbortSignal.any([this.stopping.signal, AbortSignal.timeout(timeoutMs)]);
  }

  private async post(
    peer: Peer,
    path: string,
    call: Uint8Array,
    signal: AbortSignal,
  ): Promise<Result<true, string>> {
    const url = this.options.peerUrl(peer.address, path);
    if (!url) return err(`unusable address ${JSON.stringify(peer.address)}`);
    try {
      const response = await sendCall(url, call, signal);
      const text = await readTextLimited(response, ANSWER_BYTES_MAX);
      if (response.status === 200 || response.status === 201) return ok(true);
      return err(`${response.status} ${text.ok ? text.value.slice(0, 200) : text.error}`);
    } catch (error) {
      return err(String(error));
    }
  }

  private async listPeer(peer: Peer, after: string): Promise<Result<Listing, string>> {
    const { limits } = this.options;
    const url = this.options.peerUrl(peer.address, REPLICA_PREFIX);
    if (!url) return err(`unusable address ${JSON.stringify(peer.address)}`);
    const call = this.auth.seal('master.list_blobs', peer.id, {
      limit: limits.listPageMax,
      ...(after ? { after } : {}),
    });
    try {
      const response = await sendCall(url, call, this.deadline(limits.fetchTimeoutMs));
      const text = await readTextLimited(response, limits.listPageBytesMax);
      if (!text.ok) return text;
      // A refusal names its code (UNKNOWN_KEY, STALE, ...): worth seeing in the log.
      if (response.status !== 200)
        return err(`${peer.id} answered ${response.status} ${text.value.slice(0, 200)}`);
      const parsed = ListingSchema.safeParse(JSON.parse(text.value));
      if (!parsed.success) return err(`bad listing: ${parsed.error.issues[0]?.message ?? ''}`);
      if (parsed.data.blobs.length > limits.listPageMax)
        return err(`listing has more than listPageMax (${limits.listPageMax}) blobs`);
      return ok(parsed.data);
    } catch (error) {
      return err(`listing ${peer.id} failed: ${String(error)}`);
    }
  }
}

/** POSTs a sealed replica call to a peer. */
function sendCall(url: string, call: Uint8Array, signal: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': REPLICA_MEDIA_TYPE },
    body: call,
    signal,
  });
}

/** A response body as text, refused once it passes `bytesMax`. */
async function readTextLimited(
  response: Response,
  bytesMax: number,
): Promise<Result<string, string>> {
  if (!response.body) return ok('');
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    bytes += read.value.byteLength;
    if (bytes > bytesMax) {
      await reader.cancel();
      return err(`answer exceeds ${bytesMax} bytes`);
    }
    chunks.push(read.value);
  }
  return ok(Buffer.concat(chunks, bytes).toString('utf8'));
}
