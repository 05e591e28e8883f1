import { readFile, stat } from 'node:fs/promises';
import { err, ok, type Result } from './result.js';

/**
 * Reads a file holding a secret (a private key, credentials). It must be
 * readable by its owner only (no group or other permission bits) and small,
 * or it is refused with a message that says what to do.
 */
export async function readSecretFile(
  path: string,
  options: { readonly what: string; readonly bytesMax: number },
): Promise<Result<string, string>> {
  let mode: number;
  let size: number;
  try {
    const info = await stat(path);
    mode = info.mode;
    size = info.size;
  } catch (error) {
    return err(`cannot read ${options.what} ${path}: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8);
    return err(
      `${options.what} ${path} has mode ${octal}: it must be 0600 or stricter (chmod 600 ${path})`,
    );
  }
  if (size > options.bytesMax) {
    return err(`${options.what} ${path} is larger than ${options.bytesMax} bytes`);
  }
  return ok(await readFile(path, 'utf8'));
}
