import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ComponentCache } from '../../agent/components/cache.js';
import { silentLogger } from '../../lib/log.js';

const dirs: string[] = [];
const digestOf = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const blob = (size: number, fill: number): Uint8Array => new Uint8Array(size).fill(fill);

/** A fake origin: URL → bytes; counts requests. */
function origin(files: Record<string, Uint8Array>) {
  const requests: string[] = [];
  const fetcher = (async (input: string | URL | Request) => {
    const url = String(input);
    requests.push(url);
    const body = files[url];
    return body ? new Response(body) : new Response('missing', { status: 404 });
  }) as typeof fetch;
  return { fetcher, requests };
}

async function openCache(fetcher: typeof fetch, bytesMax = 1000, componentBytesMax = 600) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-cache-'));
  dirs.push(dir);
  const cache = await ComponentCache.open({
    dir,
    bytesMax,
    componentBytesMax,
    fetchTimeoutMs: 5000,
    logger: silentLogger,
    fetch: fetcher,
  });
  return { cache, dir };
}

test('a fetched component is verified, cached on disk, and served from the cache next time', async () => {
  const bytes = blob(100, 1);
  const { fetcher, requests } = origin({ 'http://m/a': bytes });
  const { cache } = await openCache(fetcher);
  const first = await cache.acquire(digestOf(bytes), ['http://m/a']);
  assert.ok(first.ok);
  assert.equal(new Uint8Array(readFileSync(first.value.path)), bytes);
  first.value.release();
  const second = await cache.acquire(digestOf(bytes), ['http://m/a']);
  assert.ok(second.ok);
  assert.is(requests.length, 1);
});

test('content that does not match the digest is refused and not cached', async () => {
  const { fetcher } = origin({ 'http://m/a': blob(100, 1) });
  const { cache, dir } = await openCache(fetcher);
  const result = await cache.acquire(digestOf(blob(100, 2)), ['http://m/a']);
  assert.ok(!result.ok && result.error.code === 'DIGEST_MISMATCH');
  assert.equal(readdirSync(dir), []);
  assert.is(cache.bytesCached, 0);
});

test('the next source is tried when the first lacks the component', async () => {
  const bytes = blob(50, 3);
  const { fetcher, requests } = origin({ 'http://url/x': bytes });
  const { cache } = await openCache(fetcher);
  const result = await cache.acquire(digestOf(bytes), ['http://m/missing', 'http://url/x']);
  assert.ok(result.ok);
  assert.equal(requests, ['http://m/missing', 'http://url/x']);
});

test('a component over componentBytesMax is refused', async () => {
  const bytes = blob(700, 4);
  const { fetcher } = origin({ 'http://m/big': bytes });
  const { cache } = await openCache(fetcher);
  const result = await cache.acquire(digestOf(bytes), ['http://m/big']);
  assert.ok(!result.ok && result.error.code === 'TOO_LARGE');
});

test('a malformed digest is refused before any fetch', async () => {
  const { fetcher, requests } = origin({});
  const { cache } = await openCache(fetcher);
  const result = await cache.acquire('sha256:../../etc/passwd', ['http://m/x']);
  assert.ok(!result.ok && result.error.code === 'BAD_DIGEST');
  assert.is(requests.length, 0);
});

test('least recently used entries are evicted past bytesMax, but never one in use', async () => {
  const [a, b, c] = [blob(400, 1), blob(400, 2), blob(400, 3)];
  const { fetcher } = origin({ 'http://m/a': a, 'http://m/b': b, 'http://m/c': c });
  const { cache } = await openCache(fetcher, 1000, 600);
  const leaseA = await cache.acquire(digestOf(a), ['http://m/a']);
  const leaseB = await cache.acquire(digestOf(b), ['http://m/b']);
  assert.ok(leaseA.ok && leaseB.ok);
  leaseB.value.release();
  const leaseC = await cache.acquire(digestOf(c), ['http://m/c']);
  assert.ok(leaseC.ok);
  assert.ok(cache.has(digestOf(a)), 'in use: kept although least recently used');
  assert.not.ok(cache.has(digestOf(b)), 'not in use and least recently used: evicted');
  assert.not.ok(existsSync(leaseB.value.path));
  assert.is(cache.bytesCached, 800);
});

test('the cache index survives a restart', async () => {
  const bytes = blob(100, 9);
  const { fetcher, requests } = origin({ 'http://m/a': bytes });
  const { cache, dir } = await openCache(fetcher);
  const lease = await cache.acquire(digestOf(bytes), ['http://m/a']);
  assert.ok(lease.ok);
  const reopened = await ComponentCache.open({
    dir,
    bytesMax: 1000,
    componentBytesMax: 600,
    fetchTimeoutMs: 5000,
    logger: silentLogger,
    fetch: fetcher,
  });
  assert.ok(reopened.has(digestOf(bytes)));
  assert.is(reopened.bytesCached, 100);
  assert.is(requests.length, 1);
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
