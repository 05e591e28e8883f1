import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { err, ok, type Result } from '../../lib/result.js';
import { readSecretFile } from '../../lib/secret-file.js';

/** Bounds of the HTTP credentials file (`wasmos master --http-credentials FILE`). */
export const CREDENTIALS_LIMITS = {
  fileBytesMax: 256 * 1024,
  credentialsMax: 1000,
  principalCharsMax: 256,
  secretCharsMax: 1024,
} as const;

/** The Mesos credentials file format: `{ "credentials": [{ "principal", "secret" }] }`. */
const CredentialsFile = z.strictObject({
  credentials: z
    .array(
      z.strictObject({
        principal: z.string().min(1).max(CREDENTIALS_LIMITS.principalCharsMax),
        secret: z.string().min(1).max(CREDENTIALS_LIMITS.secretCharsMax),
      }),
    )
    .max(CREDENTIALS_LIMITS.credentialsMax),
});

/**
 * HTTP Basic credentials for clients that cannot sign (Mesos v1 JSON
 * schedulers). Secrets are compared as SHA-256 digests in constant time.
 */
export class HttpCredentials {
  private readonly secretDigests = new Map<string, Buffer>();

  constructor(entries: ReadonlyArray<{ principal: string; secret: string }>) {
    for (const entry of entries) this.secretDigests.set(entry.principal, sha256(entry.secret));
  }

  static async load(path: string): Promise<Result<HttpCredentials, string>> {
    const text = await readSecretFile(path, {
      what: 'HTTP credentials file',
      bytesMax: CREDENTIALS_LIMITS.fileBytesMax,
    });
    if (!text.ok) return err(text.error.message);
    let json: unknown;
    try {
      json = JSON.parse(text.value);
    } catch (error) {
      return err(`${path} is not JSON: ${(error as Error).message}`);
    }
    const parsed = CredentialsFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return err(`${path}: ${issue?.message ?? 'invalid'} at ${issue?.path.join('.') ?? ''}`);
    }
    return ok(new HttpCredentials(parsed.data.credentials));
  }

  /** The principal of a valid `Authorization: Basic …` header, else undefined. */
  authenticate(authorization: string | undefined): string | undefined {
    const match = /^Basic ([A-Za-z0-9+/=]{1,2048})$/.exec(authorization ?? '');
    if (!match) return undefined;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    const principal = decoded.slice(0, colon);
    const expected = this.secretDigests.get(principal);
    const offered = sha256(decoded.slice(colon + 1));
    // Compare even for an unknown principal, so timing does not reveal which principals exist.
    const matches = timingSafeEqual(expected ?? sha256(''), offered);
    return expected && matches ? principal : undefined;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
