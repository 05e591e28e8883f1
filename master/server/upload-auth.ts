import type { UploadAuthorizer } from '../http/blob-routes.js';
import type { MasterContext } from './context.js';

/**
 * Who may upload components. Blobs are content-addressed (an upload can only add bytes that
 * hash to their name) and bounded (blobBytesMax, storeBytesMax), so without HTTP credentials
 * configured uploads are open; with `--http-credentials` they need a valid principal.
 */
export function uploadAuthorizer(ctx: MasterContext): UploadAuthorizer {
  return async (c) => {
    const credentials = ctx.credentials;
    if (!credentials) return { ok: true };
    if (credentials.authenticate(c.req.header('authorization'))) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: 'uploads need valid HTTP Basic credentials on this master',
    };
  };
}
