import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { err, type Result } from '../result.js';
import { parseCredentials, type ZkCredentials } from './url.js';

/** A credentials file holds one line, `user:password`; it is a secret like a private key. */
export const CREDENTIALS_FILE_BYTES_MAX = 4096;

/**
 * Reads the masters' ZooKeeper credentials. Like a private key, the file must be readable by
 * its owner only (no group or other permission bits), or it is refused.
 */
export async function readCredentialsFile(path: string): Promise<Result<ZkCredentials, string>> {
  let mode: number;
  let size: number;
  try {
    const info = await stat(path);
    mode = info.mode;
    size = info.size;
  } catch (error) {
    return err(`cannot read ZooKeeper credentials file ${path}: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8);
    return err(`ZooKeeper credentials file ${path} has mode ${octal}: it must be 0600 or stricter`);
  }
  if (size > CREDENTIALS_FILE_BYTES_MAX) {
    return err(
      `ZooKeeper credentials file ${path} is larger than ${CREDENTIALS_FILE_BYTES_MAX} bytes`,
    );
  }
  const text = await readFile(path, 'utf8');
  const parsed = parseCredentials(text.trim());
  if (!parsed.ok) return err(`${path}: ${parsed.error}`);
  return parsed;
}

/** ZooKeeper's digest scheme id: `user:base64(sha1("user:password"))`. */
export function digestId(credentials: ZkCredentials): string {
  const hash = createHash('sha1').update(`${credentials.user}:${credentials.password}`);
  return `${credentials.user}:${hash.digest('base64')}`;
}
