import { readFile, stat } from 'node:fs/promises';
import { err, ok, type Result } from './result.js';

export type SecretFileError = {
  readonly code: 'NOT_FOUND' | 'PERMISSIONS' | 'TOO_LARGE';
  readonly message: string;
};

/** Any permission bit for group or others makes a secret file unsafe. */
const GROUP_OTHER_BITS = 0o077;

/**
 * Reads a file holding a secret (a private key, credentials). It must be
 * readable by its owner only (no group or other permission bits) and small,
 * or it is refused with a message that says what to do.
 */
export async function readSecretFile(
  path: string,
  options: { readonly what: string; readonly bytesMax: number },
): Promise<Result<string, SecretFileError>> {
  let mode: number;
  let size: number;
  try {
    const info = await stat(path);
    mode = info.mode;
    size = info.size;
  } catch (error) {
    return err({
      code: 'NOT_FOUND',
      message: `cannot read ${options.what} ${path}: ${(error as Error).message}`,
    });
  }
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    return err({
      code: 'PERMISSIONS',
      message: `${options.what} ${path} is accessible by group or others (mode ${octal}); run: chmod 600 ${path}`,
    });
  }
  if (size > options.bytesMax) {
    return err({
      code: 'TOO_LARGE',
      message: `${options.what} ${path} is larger than ${options.bytesMax} bytes`,
    });
  }
  return ok(await readFile(path, 'utf8'));
}
