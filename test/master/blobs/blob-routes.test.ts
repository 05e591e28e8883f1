import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hono } from 'hono';
import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '../../../master/blobs/blob-store.js';
import { digestHex, digestOf, parseDigest } from '../../../master/blobs/digest.js';
import { blobRoutes, type UploadAuthorizer } from '../../../master/http/blob-routes.js';

const allowAll: UploadAuthorizer = async () => ({ ok: true });

async function makeApp(
  options: {
    blobBytesMax?: number;
    storeBytesMax?: number;
    authorizeUpload?: UploadAuthorizer;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-blobs-'));
  const blobBytesMax = options.blobBytesMax ?? 1024;
  const store = await BlobStore.open(dir, {
    blobBytesMax,
    storeBytesMax: options.storeBytesMax ?? 1024 * 1024,
  });
  const app = new Hono().route(
    '/api/v1/blobs',
    blobRoutes({ store, blobBytesMax, authorizeUpload: options.authorizeUpload ?? allowAll }),
  );
  return { app, store, dir };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const url = (payload: Uint8Array) => `/api/v1/blobs/${digestHex(digestOf(payload))}`;

/** A body with no content-length, as a chunked upload sends it. */
function chunked(payload: Uint8Array, chunkBytes = 100): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= payload.length) return controller.close();
      controller.enqueue(payload.slice(offset, offset + chunkBytes));
      offset += chunkBytes;
    },
  });
}

test('parses digests with or without the sha256: prefix and rejects anything else', () => {
  const hex = 'a'.repeat(64);
  assert.is(parseDigest(hex), `sha256:${hex}`);
  assert.is(parseDigest(`sha256:${hex}`), `sha256:${hex}`);
  assert.is(parseDigest('A'.repeat(64)), undefined);
  assert.is(parseDigest('abc'), undefined);
  assert.is(parseDigest(`sha256:${hex}/../x`), undefined);
});

test('stores an upload whose bytes match the digest, and serves it back', async () => {
  const { app } = await makeApp();
  const payload = bytes('\0asm component bytes');
  const put = await app.request(url(payload), { method: 'PUT', body: payload });
  assert.is(put.status, 201);
  assert.equal(await put.json(), { digest: digestOf(payload), bytes: payload.length });
  const head = await app.request(url(payload), { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.headers.get('content-length'), String(payload.length));
  const get = await app.request(url(payload));
  assert.is(get.status, 200);
  assert.is(get.headers.get('content-type'), 'application/wasm');
  assert.equal(new Uint8Array(await get.arrayBuffer()), payload);
});

test('a second upload of the same blob answers 200 and stores nothing new', async () => {
  const { app, store } = await makeApp();
  const payload = bytes('same bytes');
  assert.is((await app.request(url(payload), { method: 'PUT', body: payload })).status, 201);
  assert.is((await app.request(url(payload), { method: 'PUT', body: payload })).status, 200);
  assert.is(store.totalBytes, payload.length);
});

test('rejects a body that does not hash to the digest and keeps nothing', async () => {
  const { app, store, dir } = await makeApp();
  const claimed = bytes('what was promised');
  const response = await app.request(url(claimed), {
    method: 'PUT',
    body: bytes('something else'),
  });
  assert.is(response.status, 400);
  const body = (await response.json()) as { error: { code: string } };
  assert.is(body.error.code, 'DIGEST_MISMATCH');
  assert.is((await app.request(url(claimed), { method: 'HEAD' })).status, 404);
  assert.is(store.totalBytes, 0);
  assert.equal(readdirSync(join(dir, 'incoming')), []);
});

test('refuses an oversized upload by its content-length before reading it', async () => {
  const { app } = await makeApp({ blobBytesMax: 10 });
  const payload = bytes('eleven bytes');
  const response = await app.request(url(payload), {
    method: 'PUT',
    body: payload,
    headers: { 'content-length': String(payload.length) },
  });
  assert.is(response.status, 413);
});

test('refuses an oversized chunked upload while streaming and keeps nothing', async () => {
  const { app, store, dir } = await makeApp({ blobBytesMax: 250 });
  const payload = new Uint8Array(1000).fill(7);
  const response = await app.request(url(payload), {
    method: 'PUT',
    body: chunked(payload),
    duplex: 'half',
  } as RequestInit);
  assert.is(response.status, 413);
  assert.is(store.totalBytes, 0);
  assert.equal(readdirSync(join(dir, 'incoming')), []);
});

test('refuses uploads once the store would exceed its total size', async () => {
  const { app } = await makeApp({ blobBytesMax: 100, storeBytesMax: 150 });
  const first = new Uint8Array(100).fill(1);
  const second = new Uint8Array(100).fill(2);
  assert.is((await app.request(url(first), { method: 'PUT', body: first })).status, 201);
  const response = await app.request(url(second), { method: 'PUT', body: second });
  assert.is(response.status, 507);
});

test('an unauthorized upload is refused and changes nothing', async () => {
  const { app, store } = await makeApp({
    authorizeUpload: async () => ({ ok: false, status: 403, message: 'framework key required' }),
  });
  const payload = bytes('nope');
  const response = await app.request(url(payload), { method: 'PUT', body: payload });
  assert.is(response.status, 403);
  assert.is(store.totalBytes, 0);
});

test('a malformed digest in the path is a 400, and an unknown blob a 404', async () => {
  const { app } = await makeApp();
  assert.is(
    (await app.request('/api/v1/blobs/not-a-digest', { method: 'PUT', body: 'x' })).status,
    400,
  );
  assert.is((await app.request('/api/v1/blobs/..%2F..%2Fetc%2Fpasswd')).status, 400);
  assert.is((await app.request(`/api/v1/blobs/${'0'.repeat(64)}`)).status, 404);
});

test('a reopened store counts what it holds and discards interrupted uploads', async () => {
  const { app, dir } = await makeApp();
  const payload = bytes('durable');
  await app.request(url(payload), { method: 'PUT', body: payload });
  mkdirSync(join(dir, 'incoming'), { recursive: true });
  writeFileSync(join(dir, 'incoming', 'half-written'), 'partial');
  const reopened = await BlobStore.open(dir, { blobBytesMax: 1024, storeBytesMax: 4096 });
  assert.is(reopened.totalBytes, payload.length);
  assert.equal(readdirSync(join(dir, 'incoming')), []);
  assert.ok(await reopened.info(digestOf(payload)));
});

test.run();
