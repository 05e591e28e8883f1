/**
 * The replica calls between masters are authenticated, over real HTTP on loopback with real
 * Ed25519 keys: asking a master to fetch a blob (`master.replicate`) and reading its listing
 * (`master.list_blobs`) take a signed envelope from a master of the election, fresh, not
 * replayed, meant for that master, signed with the key its sender published. Every other
 * request gets a 4xx with a code, and starts no download: the leader's server counts the
 * downloads it serves, and the standby's store stays empty.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ManualClock } from '../../../lib/clock.js';
import { BlobStore } from '../../../master/blobs/blob-store.js';
import { digestHex, digestOf, type Digest } from '../../../master/blobs/digest.js';
import { REPLICATION_LIMITS } from '../../../master/blobs/limits.js';
import { BlobReplication, REPLICA_PREFIX, type Peer } from '../../../master/blobs/replication.js';
import { redirectTarget } from '../../../master/server/leader-gate.js';
import { until } from '../../support/until.js';
import {
  encodeCbor,
  generateIdentity,
  rawPublicKey,
  Signer,
  TrustStore,
  wrap,
  type Identity,
  type MessageBody,
} from '../../../protocol/index.js';

const BLOB_BYTES_MAX = 4096;
const CBOR = { 'content-type': 'application/cbor' };
const dirs: string[] = [];
const servers: ServerType[] = [];
const replications: BlobReplication[] = [];

/** The key the masters of the election share, and keys that are not it. */
const masterKey = generateIdentity();
const otherMasterKey = generateIdentity();
const agentKey = generateIdentity();
const strangerKey = generateIdentity();
/** The trust directory every master loads: the masters' key, a second master key, an agent. */
const trust = new TrustStore([
  { publicKey: masterKey.publicKey, role: 'master', name: 'master' },
  { publicKey: otherMasterKey.publicKey, role: 'master', name: 'other-master' },
  { publicKey: agentKey.publicKey, role: 'agent', name: 'agent-1' },
]);

const published = (identity: Identity) =>
  Buffer.from(rawPublicKey(identity.publicKey)).toString('base64');

interface Node {
  readonly peer: Peer;
  readonly store: BlobStore;
  readonly replication: BlobReplication;
  readonly election: { peers: Peer[] | undefined; serving: boolean };
  /** Blob downloads (GET of a digest) this master's server answered. */
  readonly downloads: { count: number };
  /** Replica calls (POST) that reached this master's server. */
  readonly calls: { count: number };
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<string> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${(info as AddressInfo).port}`),
    );
    servers.push(server);
  });
}

async function node(id: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-replica-auth-'));
  dirs.push(dir);
  const store = await BlobStore.open(dir, { blobBytesMax: BLOB_BYTES_MAX, storeBytesMax: 1 << 20 });
  const election = { peers: [] as Peer[] | undefined, serving: false };
  const replication = new BlobReplication({
    store,
    selfId: id,
    identity: masterKey,
    trust,
    view: { peers: () => election.peers, isServing: () => election.serving },
    limits: { ...REPLICATION_LIMITS, replicateTimeoutMs: 30_000, fetchTimeoutMs: 30_000 },
    blobBytesMax: BLOB_BYTES_MAX,
    peerUrl: (address, path) => redirectTarget(address, `http://peer${path}`),
  });
  replications.push(replication);
  const app = new Hono().route(REPLICA_PREFIX, replication.routes());
  const downloads = { count: 0 };
  const calls = { count: 0 };
  const address = await listen((request) => {
    const path = new URL(request.url).pathname;
    if (request.method === 'GET' && path.startsWith(`${REPLICA_PREFIX}/`)) downloads.count++;
    if (request.method === 'POST') calls.count++;
    return app.fetch(request);
  });
  return {
    peer: { id, address, publicKey: published(masterKey) },
    store,
    replication,
    election,
    downloads,
    calls,
  };
}

/** A leader holding one blob, and a standby that sees it (and a master with its own key). */
async function election() {
  const leader = await node('master-leader');
  const standby = await node('master-standby');
  const other: Peer = {
    id: 'master-other',
    address: leader.peer.address,
    publicKey: published(otherMasterKey),
  };
  leader.election.serving = true;
  leader.election.peers = [standby.peer];
  standby.election.peers = [leader.peer, other];
  const payload = new TextEncoder().encode(`a component ${Math.random()}`);
  const digest = digestOf(payload);
  assert.ok((await leader.store.put(digest, Readable.from([payload]))).ok);
  return { leader, standby, digest };
}

async function answer(response: Response): Promise<{ status: number; code: string | undefined }> {
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: body.error?.code };
}

function ask(standby: Node, digest: Digest, init: RequestInit): Promise<Response> {
  return fetch(`${standby.peer.address}${REPLICA_PREFIX}/${digestHex(digest)}`, {
    method: 'POST',
    ...init,
  });
}

function list(target: Node, init: RequestInit): Promise<Response> {
  return fetch(`${target.peer.address}${REPLICA_PREFIX}`, { method: 'POST', ...init });
}

/** An envelope built by hand: any body, any sender, signed with any key. */
function handmade(
  type: string,
  body: unknown,
  options: { sender?: Identity; signWith?: Identity } = {},
): Uint8Array {
  const sender = options.sender ?? masterKey;
  const payload = encodeCbor({
    v: 1,
    type,
    sender: sender.keyId,
    sid: `handmade${Math.floor(Math.random() * 1e9)}`,
    seq: 1,
    ts: Date.now(),
    body,
  });
  return wrap(payload, sign(null, payload, (options.signWith ?? sender).privateKey));
}

function replicateCall(
  digest: Digest,
  fields: Partial<MessageBody<'master.replicate'>> = {},
  signer = new Signer(masterKey),
): Uint8Array {
  return signer.seal('master.replicate', {
    digest,
    from: 'master-leader',
    to: 'master-standby',
    ...fields,
  });
}

test.after(async () => {
  await Promise.all(replications.map((each) => each.stop()));
  for (const server of servers) server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('every refused ask to replicate gets a 4xx with its code and starts no download', async () => {
  const { leader, standby, digest } = await election();
  const otherDigest = digestOf(new TextEncoder().encode('another component'));
  const staleClock = new ManualClock(Date.now() - 5 * 60_000);
  const cases: [string, RequestInit, number, string][] = [
    ['unsigned, no body', {}, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'unsigned JSON',
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ digest }) },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['empty CBOR body', { headers: CBOR, body: new Uint8Array() }, 400, 'EMPTY_BODY'],
    [
      'malformed CBOR',
      { headers: CBOR, body: new Uint8Array([0xa2, 0xff, 1, 2]) },
      400,
      'MALFORMED',
    ],
    [
      'oversized body',
      { headers: CBOR, body: new Uint8Array(REPLICATION_LIMITS.callBytesMax + 1) },
      413,
      'TOO_LARGE',
    ],
    [
      'bad signature',
      {
        headers: CBOR,
        body: handmade(
          'master.replicate',
          { digest, from: 'master-leader', to: 'master-standby' },
          { signWith: strangerKey },
        ),
      },
      403,
      'BAD_SIGNATURE',
    ],
    [
      'unknown key',
      { headers: CBOR, body: replicateCall(digest, {}, new Signer(strangerKey)) },
      403,
      'UNKNOWN_KEY',
    ],
    [
      'wrong role (an agent key)',
      { headers: CBOR, body: replicateCall(digest, {}, new Signer(agentKey)) },
      403,
      'WRONG_ROLE',
    ],
    [
      'stale',
      {
        headers: CBOR,
        body: replicateCall(digest, {}, new Signer(masterKey, { clock: staleClock })),
      },
      400,
      'STALE',
    ],
    [
      'unknown field in the body',
      {
        headers: CBOR,
        body: handmade('master.replicate', {
          digest,
          from: 'master-leader',
          to: 'master-standby',
          url: 'http://elsewhere.example/',
        }),
      },
      400,
      'SCHEMA',
    ],
    [
      'another message type',
      {
        headers: CBOR,
        body: new Signer(masterKey).seal('master.list_blobs', {
          from: 'master-leader',
          to: 'master-standby',
        }),
      },
      400,
      'SCHEMA',
    ],
    [
      'from a master not in the election',
      { headers: CBOR, body: replicateCall(digest, { from: 'master-gone' }) },
      403,
      'UNKNOWN_PEER',
    ],
    [
      'signed with another key than the named master published',
      { headers: CBOR, body: replicateCall(digest, {}, new Signer(otherMasterKey)) },
      403,
      'KEY_MISMATCH',
    ],
    [
      'meant for another master',
      { headers: CBOR, body: replicateCall(digest, { to: 'master-third' }) },
      403,
      'WRONG_RECIPIENT',
    ],
    [
      'signed for another digest',
      { headers: CBOR, body: replicateCall(otherDigest) },
      400,
      'WRONG_DIGEST',
    ],
  ];
  for (const [name, init, status, code] of cases) {
    assert.equal(await answer(await ask(standby, digest, init)), { status, code }, name);
  }
  assert.is(leader.downloads.count, 0);
  assert.is(await standby.store.info(digest), undefined);
  assert.equal(await standby.store.list('', 10), []);
});

test('a signed ask from the leader is fetched once; replaying it, or sending it to another master, is refused', async () => {
  const { leader, standby, digest } = await election();
  const bystander = await node('master-bystander');
  bystander.election.peers = [leader.peer];
  const call = replicateCall(digest);
  const asked = await ask(standby, digest, { headers: CBOR, body: call });
  assert.is(asked.status, 201);
  assert.equal(await asked.json(), { digest, bytes: (await leader.store.info(digest))!.bytes });
  assert.ok(await standby.store.info(digest));
  assert.is(leader.downloads.count, 1);
  assert.equal(await answer(await ask(standby, digest, { headers: CBOR, body: call })), {
    status: 400,
    code: 'REPLAYED',
  });
  assert.equal(await answer(await ask(bystander, digest, { headers: CBOR, body: call })), {
    status: 403,
    code: 'WRONG_RECIPIENT',
  });
  assert.is(leader.downloads.count, 1);
  assert.is(await bystander.store.info(digest), undefined);
});

test('a master with a key of its own, trusted as a master and published in the election, may ask', async () => {
  const { leader, standby, digest } = await election();
  // `master-other` publishes otherMasterKey; its address serves the leader's copies.
  const asked = await ask(standby, digest, {
    headers: CBOR,
    body: replicateCall(digest, { from: 'master-other' }, new Signer(otherMasterKey)),
  });
  assert.is(asked.status, 201);
  assert.is(leader.downloads.count, 1);
  assert.ok(await standby.store.info(digest));
});

test('the leader replicates through signed calls, and a standby that lists the election late still takes the copy', async () => {
  const { leader, standby, digest } = await election();
  standby.election.peers = undefined;
  const replicating = leader.replication.replicate(digest);
  // The ask arrived and waits for the standby's first listing of the election.
  await until(() => standby.calls.count >= 1, 'the ask reaching the standby');
  standby.election.peers = [leader.peer];
  assert.equal(await replicating, { ok: true, value: { replicas: 1 } });
  assert.ok(await standby.store.info(digest));
});

test('the listing needs a signed call from a master of the election', async () => {
  const { leader, standby, digest } = await election();
  const listing = new Signer(masterKey);
  const body = (fields: Partial<MessageBody<'master.list_blobs'>> = {}, signer = listing) =>
    signer.seal('master.list_blobs', { from: 'master-standby', to: 'master-leader', ...fields });
  const unsigned = await fetch(`${leader.peer.address}${REPLICA_PREFIX}`);
  assert.equal(await answer(unsigned), { status: 405, code: 'SIGNED_CALL_REQUIRED' });
  const refusals: [string, RequestInit, number, string][] = [
    ['unsigned POST', {}, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an agent key', { headers: CBOR, body: body({}, new Signer(agentKey)) }, 403, 'WRONG_ROLE'],
    [
      'an unknown key',
      { headers: CBOR, body: body({}, new Signer(strangerKey)) },
      403,
      'UNKNOWN_KEY',
    ],
    [
      'not in the election',
      { headers: CBOR, body: body({ from: 'master-gone' }) },
      403,
      'UNKNOWN_PEER',
    ],
    [
      'key mismatch',
      { headers: CBOR, body: body({}, new Signer(otherMasterKey)) },
      403,
      'KEY_MISMATCH',
    ],
    [
      'above listPageMax',
      { headers: CBOR, body: body({ limit: REPLICATION_LIMITS.listPageMax + 1 }) },
      400,
      'BAD_LIMIT',
    ],
    [
      'a bad cursor',
      {
        headers: CBOR,
        body: handmade('master.list_blobs', {
          from: 'master-standby',
          to: 'master-leader',
          after: 'zz',
        }),
      },
      400,
      'SCHEMA',
    ],
  ];
  for (const [name, init, status, code] of refusals)
    assert.equal(await answer(await list(leader, init)), { status, code }, name);
  const call = body({ limit: 10 });
  const listed = await list(leader, { headers: CBOR, body: call });
  assert.is(listed.status, 200);
  const page = (await listed.json()) as { blobs: { digest: string }[] };
  assert.equal(
    page.blobs.map((blob) => blob.digest),
    [digest],
  );
  assert.equal(await answer(await list(leader, { headers: CBOR, body: call })), {
    status: 400,
    code: 'REPLAYED',
  });
  // The standby's mirror round lists the leader with its own signed calls.
  assert.equal(await standby.replication.mirrorOnce(), { fetched: 1, failed: 0 });
  assert.ok(await standby.store.info(digest));
});

test.run();
