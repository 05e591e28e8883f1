import { createHash } from 'node:crypto';
import { err, type Result } from '../result.js';
import { readSecretFile } from '../secret-file.js';
import { parseCredentials, type ZkCredentials } from './url.js';

/** A credentials file holds one line, `user:password`; it is a secret like a private key. */
export const CREDENTIALS_FILE_BYTES_MAX = 4096;

/**
 * Reads the masters' ZooKeeper credentials. Like a private key, the file must be readable by
 * its owner only (no group or other permission bits), or it is refused.
 */
export async function readCredentialsFile(path: string): Promise<Result<ZkCredentials, string>> {
  const text = await readSecretFile(path, {
    what: 'ZooKeeper credentials file',
    bytesMax: CREDENTIALS_FILE_BYTES_MAX,
  });
  if (!text.ok) return err(text.error.message);
  const parsed = parseCredentials(text.value.trim());
  if (!parsed.ok) return err(`${path}: ${parsed.error}`);
  return parsed;
}

/** ZooKeeper's digest scheme id: `user:base64(sha1("user:password"))`. */
export function digestId(credentials: ZkCredentials): string {
  const hash = createHash('sha1').update(`${credentials.user}:${credentials.password}`);
  return `${credentials.user}:${hash.digest('base64')}`;
}
