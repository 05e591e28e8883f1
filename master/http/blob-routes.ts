import { Hono, type Context } from 'hono';
import { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/blob-store.js';
import { parseDigest } from '../blobs/digest.js';

/** Decides whether a request may upload; the master wires in its signed-request check. */
export type UploadAuthorizer = (
  context: Context,
) => Promise<
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string }
>;

export interface BlobRoutesOptions {
  readonly store: BlobStore;
  readonly blobBytesMax: number;
  readonly authorizeUpload: UploadAuthorizer;
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/**
 * `PUT /api/v1/blobs/:sha256` uploads a component whose bytes must hash to the
 * path's digest; `GET` downloads it (agents fetch by digest); `HEAD` tells a
 * client whether the upload can be skipped.
 */
export function blobRoutes(options: BlobRoutesOptions): Hono {
  const { store, blobBytesMax, authorizeUpload } = options;
  const routes = new Hono();

  routes.put('/:sha256', async (c) => {
    const digest = parseDigest(c.req.param('sha256'));
    if (!digest)
      return c.json(errorBody('BAD_DIGEST', 'the path must be a sha256 hex digest'), 400);
    const declaredBytes = Number(c.req.header('content-length') ?? Number.NaN);
    if (declaredBytes > blobBytesMax) {
      return c.json(
        errorBody('TOO_LARGE', `blob exceeds blobBytesMax (${blobBytesMax} bytes)`),
        413,
      );
    }
    const authorized = await authorizeUpload(c);
    if (!authorized.ok)
      return c.json(errorBody('UNAUTHORIZED', authorized.message), authorized.status);
    const body = c.req.raw.body;
    if (!body) return c.json(errorBody('EMPTY_BODY', 'the request has no body'), 400);
    const stored = await store.put(
      digest,
      Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>),
    );
    if (!stored.ok) {
      const status =
        stored.error.code === 'DIGEST_MISMATCH'
          ? 400
          : stored.error.code === 'TOO_LARGE'
            ? 413
            : 507;
      return c.json(errorBody(stored.error.code, stored.error.message), status);
    }
    return c.json({ digest, bytes: stored.value.bytes }, stored.value.created ? 201 : 200);
  });

  routes.on(['GET', 'HEAD'], '/:sha256', async (c) => {
    const digest = parseDigest(c.req.param('sha256'));
    if (!digest)
      return c.json(errorBody('BAD_DIGEST', 'the path must be a sha256 hex digest'), 400);
    const headers = {
      'content-type': 'application/wasm',
      'cache-control': 'public, max-age=31536000, immutable',
    };
    if (c.req.method === 'HEAD') {
      const found = await store.info(digest);
      if (!found) return c.body(null, 404);
      return c.body(null, 200, { ...headers, 'content-length': String(found.bytes) });
    }
    const found = await store.read(digest);
    if (!found) return c.json(errorBody('NOT_FOUND', `no blob ${digest}`), 404);
    const stream = Readable.toWeb(found.stream) as unknown as ReadableStream<Uint8Array>;
    return c.body(stream, 200, { ...headers, 'content-length': String(found.bytes) });
  });

  return routes;
}
