/**
 * readBodyLimited behind a real @hono/node-server listener (as the master serves it): bodies
 * with a declared length (read whole) and chunked ones (counted as they stream), each within,
 * at and over the limit, and empty ones.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readBodyLimited } from '../../../master/http/body.js';

const LIMIT = 1000;

const app = new Hono();
app.post('/', async (c) => {
  const body = await readBodyLimited(c.req.raw, LIMIT);
  if (!body.ok) return c.json({ error: body.error.code }, 400);
  const bytes = body.value;
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) % 65_521;
  return c.json({ bytes: bytes.byteLength, sum, isUint8Array: bytes instanceof Uint8Array });
});

let server: ServerType;
let port = 0;

test.before(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      port = info.port;
      resolve();
    });
  });
});

test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) % 65_521;
  return sum;
}

const payload = (length: number): Uint8Array =>
  Uint8Array.from({ length }, (_, index) => (index * 7 + 3) % 256);

/** Posts `chunks`: with a Content-Length when `declare`, else chunked transfer encoding. */
function post(chunks: Uint8Array[], declare: boolean): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: declare ? { 'content-length': String(total) } : {},
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }),
        );
      },
    );
    request.on('error', reject);
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

for (const declare of [true, false]) {
  const how = declare ? 'declared length' : 'chunked';

  test(`${how}: a body within the limit is read exactly`, async () => {
    const bytes = payload(700);
    const answer = await post([bytes.subarray(0, 300), bytes.subarray(300)], declare);
    assert.is(answer.status, 200);
    assert.equal(answer.body, { bytes: 700, sum: checksum(bytes), isUint8Array: true });
  });

  test(`${how}: a body of exactly the limit is read`, async () => {
    const bytes = payload(LIMIT);
    const answer = await post([bytes], declare);
    assert.equal(answer.body, { bytes: LIMIT, sum: checksum(bytes), isUint8Array: true });
  });

  test(`${how}: a body over the limit is refused`, async () => {
    const answer = await post([payload(600), payload(600)], declare);
    assert.is(answer.status, 400);
    assert.equal(answer.body, { error: 'TOO_LARGE' });
  });

  test(`${how}: an empty body is refused`, async () => {
    const answer = await post([], declare);
    assert.is(answer.status, 400);
    assert.equal(answer.body, { error: 'EMPTY_BODY' });
  });
}

test('through app.fetch with a plain web Request (no node-server): declared and streamed', async () => {
  const bytes = payload(500);
  const declared = await app.fetch(
    new Request('http://x/', { method: 'POST', body: bytes, headers: { 'content-length': '500' } }),
  );
  assert.equal(await declared.json(), { bytes: 500, sum: checksum(bytes), isUint8Array: true });
  const streamed = await app.fetch(
    new Request('http://x/', {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(payload(800));
          controller.enqueue(payload(800));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit),
  );
  assert.equal(await streamed.json(), { error: 'TOO_LARGE' });
});

test.run();
