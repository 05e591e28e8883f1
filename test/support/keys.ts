import * as assert from 'uvu/assert';
import { writeKeyPair, type Identity, type Role } from '../../protocol/index.js';

/**
 * Writes `identity`'s key pair into `dir` as `<name>.key` (0600) and `<name>.pub` tagged with
 * `role`, and asserts it was written (naming the key and why not); returns the private key's
 * path. The test clusters (e2e, scheduler harness) write every key they trust this way.
 */
export async function writeTestKey(
  dir: string,
  name: string,
  role: Role,
  identity: Identity,
): Promise<string> {
  const written = await writeKeyPair(dir, name, role, identity);
  assert.ok(written.ok, written.ok ? '' : `key ${name}: ${written.error.message}`);
  return written.value.privateKeyPath;
}
