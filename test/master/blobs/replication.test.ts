/**
 * Blob replication between masters over real HTTP: a peer's copy is fetched and checked against
 * its digest, the leader's upload waits for a copy, a master mirrors what it lacks, and bad or
 * oversized data from a peer is refused without changing the store. The masters share one key
 * and an empty trust directory (as `wasmos dev --ha`): each trusts its own key as a master's.
 * How the replica calls are authenticated is in replica-auth.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore } from '../../../master/blobs/blob-store.js';
import { digestHex, digestOf, type Digest } from '../../../master/blobs/digest.js';
import { REPLICATION_LIMITS } from '../../../master/blobs/limits.js';
import { BlobReplication, REPLICA_PREFIX, type Peer } from '../../../master/blobs/replication.js';
import { redirectTarget } from '../../../master/server/leader-gate.js';
import { generateIdentity, rawPublicKey, Signer, TrustStore } from '../../../protocol/index.js';

const BLOB_BYTES_MAX = 4096;
const dirs: string[] = [];
const servers: ServerType[] = [];
const replications: BlobReplication[] = [];
/** The key every master of the election shares. */
const masterKey = generateIdentity();
const publicKey = Buffer.from(rawPublicKey(masterKey.publicKey)).toString('base64');

interface Node {
  readonly peer: Peer;
  readonly store: BlobStore;
  readonly replication: BlobReplication;
  /** Who this master sees in the election, and whether it leads. */
  readonly election: { peers: Peer[] | undefined; serving: boolean };
}

function listen(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  return new Promise<string>((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${(info as AddressInfo).port}`),
    );
    servers.push(server);
  });
}

async function node(id: string, storeBytesMax = 1024 * 1024): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-replication-'));
  dirs.push(dir);
  const store = await BlobStore.open(dir, { blobBytesMax: BLOB_BYTES_MAX, storeBytesMax });
  const election = { peers: [] as Peer[] | undefined, serving: false };
  const replication = new BlobReplication({
    store,
    selfId: id,
    identity: masterKey,
    trust: new TrustStore(),
    view: { peers: () => election.peers, isServing: () => election.serving },
    limits: { ...REPLICATION_LIMITS, replicateTimeoutMs: 10_000, fetchTimeoutMs: 10_000 },
    blobBytesMax: BLOB_BYTES_MAX,
    peerUrl: (address, path) => redirectTarget(address, `http://peer${path}`),
  });
  replications.push(replication);
  const address = await listen(new Hono().route(REPLICA_PREFIX, replication.routes()));
  return { peer: { id, address, publicKey }, store, replication, election };
}

/** A peer that answers every replica request with `answer` (a misbehaving or broken master). */
async function badPeer(id: string, answer: (path: string) => Response): Promise<Peer> {
  const address = await listen({ fetch: (request) => answer(new URL(request.url).pathname) });
  return { id, address, publicKey };
}

const bytes = (text: string) => new TextEncoder().encode(text);

async function put(store: BlobStore, payload: Uint8Array): Promise<Digest> {
  const digest = digestOf(payload);
  const stored = await store.put(digest, Readable.from([payload]));
  assert.ok(stored.ok);
  return digest;
}

async function contents(store: BlobStore, digest: Digest): Promise<string | undefined> {
  const found = await store.read(digest);
  if (!found) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of found.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

test.after(async () => {
  await Promise.all(replications.map((each) => each.stop()));
  for (const server of servers) server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('the leader acknowledges once a standby fetched its copy from it', async () => {
  const leader = await node('leader');
  const standby = await node('standby');
  leader.election.serving = true;
  leader.election.peers = [standby.peer];
  standby.election.peers = [leader.peer];
  const digest = await put(leader.store, bytes('component one'));
  const replicated = await leader.replication.replicate(digest);
  assert.equal(replicated, { ok: true, value: { replicas: 1 } });
  assert.is(await contents(standby.store, digest), 'component one');
  // The leader itself refuses to take replicas, even when a master of the election asks.
  leader.election.peers = [standby.peer];
  const call = new Signer(masterKey).seal('master.replicate', {
    digest,
    from: standby.peer.id,
    to: leader.peer.id,
  });
  const asked = await fetch(`${leader.peer.address}${REPLICA_PREFIX}/${digestHex(digest)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body: call,
  });
  assert.is(asked.status, 409);
  assert.is(((await asked.json()) as { error: { code: string } }).error.code, 'LEADING');
});

test('no standby able to take a copy: the upload is not acknowledged', async () => {
  const leader = await node('leader');
  const full = await node('full', 8);
  const unknownToIt = await node('stranger');
  leader.election.serving = true;
  leader.election.peers = [full.peer, unknownToIt.peer];
  full.election.peers = [leader.peer];
  // `stranger` does not see `leader` in its election: it refuses to fetch from it.
  const digest = await put(leader.store, bytes('too big for a full store'));
  const replicated = await leader.replication.replicate(digest);
  assert.not.ok(replicated.ok);
  if (!replicated.ok) {
    assert.match(replicated.error, /0 of 1/);
    assert.match(replicated.error, /STORE_FULL/);
    assert.match(replicated.error, /UNKNOWN_PEER/);
  }
  assert.is(await full.store.info(digest), undefined);
  // A lone leader (nobody else in the election) acknowledges with its own copy.
  leader.election.peers = [];
  assert.equal(await leader.replication.replicate(digest), { ok: true, value: { replicas: 0 } });
});

test('a leader that has not listed the election yet waits for it instead of acknowledging alone', async () => {
  const leader = await node('leader');
  const standby = await node('standby');
  leader.election.serving = true;
  leader.election.peers = undefined;
  standby.election.peers = undefined;
  const digest = await put(leader.store, bytes('uploaded early'));
  const replicating = leader.replication.replicate(digest);
  // Both learn the election only now (the leader's answer must still wait for the copy).
  leader.election.peers = [standby.peer];
  standby.election.peers = [leader.peer];
  assert.equal(await replicating, { ok: true, value: { replicas: 1 } });
  assert.is(await contents(standby.store, digest), 'uploaded early');
});

test('a master mirrors every peer blob it lacks, across listing pages', async () => {
  const a = await node('a');
  const b = await node('b');
  // `a` answers listings only to masters it sees in the election.
  a.election.peers = [b.peer];
  const small = new BlobReplication({
    store: b.store,
    selfId: 'b',
    identity: masterKey,
    trust: new TrustStore(),
    view: { peers: () => [a.peer], isServing: () => false },
    limits: { ...REPLICATION_LIMITS, listPageMax: 2 },
    blobBytesMax: BLOB_BYTES_MAX,
    peerUrl: (address, path) => redirectTarget(address, `http://peer${path}`),
  });
  replications.push(small);
  const digests: Digest[] = [];
  for (let index = 0; index < 5; index++)
    digests.push(await put(a.store, bytes(`blob number ${index}`)));
  const round = await small.mirrorOnce();
  assert.equal(round, { fetched: 5, failed: 0 });
  for (const [index, digest] of digests.entries())
    assert.is(await contents(b.store, digest), `blob number ${index}`);
  assert.equal(await small.mirrorOnce(), { fetched: 0, failed: 0 });
});

test('a missing blob is fetched from whichever peer has it', async () => {
  const a = await node('a');
  const b = await node('b');
  const c = await node('c');
  c.election.peers = [a.peer, b.peer];
  const digest = await put(b.store, bytes('only on b'));
  assert.ok(await c.replication.ensureLocal(digest));
  assert.is(await contents(c.store, digest), 'only on b');
  assert.not.ok(await c.replication.ensureLocal(digestOf(bytes('nowhere'))));
});

test('wrong, oversized or malformed data from a peer is refused and stores nothing', async () => {
  const payload = bytes('the real component');
  const digest = digestOf(payload);
  const liar = await badPeer('liar', (path) =>
    path === REPLICA_PREFIX
      ? Response.json({ blobs: [{ digest, bytes: 5 }] })
      : new Response('not the component'),
  );
  const huge = await badPeer(
    'huge',
    () => new Response(new Uint8Array(BLOB_BYTES_MAX + 1), { status: 200 }),
  );
  // No content-length: the size is only known while streaming.
  const streaming = await badPeer(
    'streaming',
    () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (let index = 0; index < 10; index++)
              controller.enqueue(new Uint8Array(BLOB_BYTES_MAX / 4));
            controller.close();
          },
        }),
      ),
  );
  const garbled = await badPeer('garbled', (path) =>
    path === REPLICA_PREFIX
      ? Response.json({ blobs: [{ digest: 'sha256:nothex', bytes: -1 }] })
      : new Response(null, { status: 404 }),
  );
  const endless = await badPeer('endless', () =>
    Response.json({ blobs: [], padding: 'x'.repeat(REPLICATION_LIMITS.listPageBytesMax) }),
  );
  const self = await node('self');
  for (const peer of [liar, huge, streaming]) {
    const fetched = await self.replication.fetchFrom(peer, digest);
    assert.not.ok(fetched.ok, peer.id);
  }
  const mismatch = await self.replication.fetchFrom(liar, digest);
  assert.ok(!mismatch.ok && /DIGEST_MISMATCH/.test(mismatch.error), JSON.stringify(mismatch));
  self.election.peers = [liar, garbled, endless];
  assert.equal(await self.replication.mirrorOnce(), { fetched: 0, failed: 1 });
  assert.is(self.store.totalBytes, 0);
  assert.equal(await self.store.list('', 10), []);
});

test('bad replica requests get a clear 4xx; an unsigned listing is refused', async () => {
  const self = await node('self');
  const base = `${self.peer.address}${REPLICA_PREFIX}`;
  for (const path of ['', '?after=zz', `?limit=${REPLICATION_LIMITS.listPageMax}`]) {
    const response = await fetch(`${base}${path}`);
    assert.is(response.status, 405, path);
    const body = (await response.json()) as { error: { code: string } };
    assert.is(body.error.code, 'SIGNED_CALL_REQUIRED');
  }
  const bad = await fetch(`${base}/not-a-digest`, { method: 'POST' });
  assert.is(bad.status, 400);
  await bad.body?.cancel();
  assert.is((await fetch(`${base}/${'a'.repeat(64)}`)).status, 404);
});

test.run();
