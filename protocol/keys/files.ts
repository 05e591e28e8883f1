import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';
import { readSecretFile } from '../../lib/secret-file.js';
import { identityFromPrivateKey, type Identity } from './identity.js';
import { keyIdOf } from './key-id.js';
import { isRole, roles, type Role } from './roles.js';
import { TrustStore } from './trust.js';

/**
 * Key files. `NAME.key`: the PKCS#8 PEM private key, mode 0600. `NAME.pub`: header comment lines
 * then the SPKI PEM public key:
 *
 *     # wasmos public key
 *     # name: agent-1
 *     # role: agent
 *     # key-id: wk_...
 *     -----BEGIN PUBLIC KEY-----
 *
 * `role` is required; `name` defaults to the file name; `key-id`, when present, must match the
 * key (it is there for humans, and catches a key pasted under the wrong header).
 */

export type KeyFileErrorCode =
  | 'KEY_NOT_FOUND'
  | 'KEY_EXISTS'
  | 'KEY_PERMISSIONS'
  | 'KEY_INVALID'
  | 'KEY_NAME_INVALID'
  | 'TRUST_DIR_INVALID';

export interface KeyFileError {
  readonly code: KeyFileErrorCode;
  readonly message: string;
  readonly path: string;
}

const keyFileError = (code: KeyFileErrorCode, path: string, message: string): KeyFileError => ({
  code,
  path,
  message,
});

export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A PEM Ed25519 private key is about 120 bytes; anything much larger is not one. */
const PRIVATE_KEY_BYTES_MAX = 16 * 1024;
/** A trust directory holds few keys; a bound keeps a wrong path (e.g. `/`) from loading forever. */
export const TRUST_FILES_MAX = 10_000;

export function formatPublicKeyFile(publicKey: KeyObject, role: Role, name: string): string {
  assert(KEY_NAME_PATTERN.test(name), 'key names are checked before formatting');
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  return [
    '# wasmos public key',
    `# name: ${name}`,
    `# role: ${role}`,
    `# key-id: ${keyIdOf(publicKey)}`,
    pem.trimEnd(),
    '',
  ].join('\n');
}

export interface PublicKeyFile {
  readonly publicKey: KeyObject;
  readonly role: Role;
  readonly name: string;
}

export function parsePublicKeyFile(
  text: string,
  defaultName: string,
): Result<PublicKeyFile, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^#\s*([a-z-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (match) headers.set(match[1]!, match[2]!);
  }
  const role = headers.get('role');
  if (role === undefined) return err('no "# role: ..." line');
  if (!isRole(role)) return err(`role "${role}" is not one of ${roles.join(', ')}`);
  const name = headers.get('name') ?? defaultName;
  if (!KEY_NAME_PATTERN.test(name)) return err(`name "${name}" is not a key name`);
  const pem = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/.exec(text);
  if (!pem) return err('no PEM public key block');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem[0]);
  } catch (error) {
    return err(`unreadable public key: ${(error as Error).message}`);
  }
  if (publicKey.asymmetricKeyType !== 'ed25519')
    return err(`not an Ed25519 key (${publicKey.asymmetricKeyType})`);
  const keyId = headers.get('key-id');
  if (keyId !== undefined && keyId !== keyIdOf(publicKey)) {
    return err(`key-id header ${keyId} does not match the key (${keyIdOf(publicKey)})`);
  }
  return ok({ publicKey, role, name });
}

export interface WrittenKeyPair {
  readonly keyId: string;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
}

/** Writes NAME.key (0600) and NAME.pub into dir (created 0700 if missing); never overwrites. */
export async function writeKeyPair(
  dir: string,
  name: string,
  role: Role,
  identity: Identity,
): Promise<Result<WrittenKeyPair, KeyFileError>> {
  if (!KEY_NAME_PATTERN.test(name)) {
    return err(
      keyFileError(
        'KEY_NAME_INVALID',
        name,
        `key name "${name}" must match ${KEY_NAME_PATTERN.source}`,
      ),
    );
  }
  const privateKeyPath = join(dir, `${name}.key`);
  const publicKeyPath = join(dir, `${name}.pub`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (await exists(path))
      return err(keyFileError('KEY_EXISTS', path, `${path} already exists; not overwriting it`));
  }
  const pem = identity.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  // `wx` fails if the file appeared meanwhile; the mode is set at creation, then again in
  // case the umask or an existing ACL default interfered.
  await writeFile(privateKeyPath, pem, { mode: 0o600, flag: 'wx' });
  await chmod(privateKeyPath, 0o600);
  await writeFile(publicKeyPath, formatPublicKeyFile(identity.publicKey, role, name), {
    mode: 0o644,
    flag: 'wx',
  });
  return ok({ keyId: identity.keyId, privateKeyPath, publicKeyPath });
}

/** Loads a private key, refusing one that group or others could read. */
export async function loadPrivateKey(path: string): Promise<Result<Identity, KeyFileError>> {
  const pem = await readSecretFile(path, { what: 'private key', bytesMax: PRIVATE_KEY_BYTES_MAX });
  if (!pem.ok) {
    const code =
      pem.error.code === 'PERMISSIONS'
        ? 'KEY_PERMISSIONS'
        : pem.error.code === 'NOT_FOUND'
          ? 'KEY_NOT_FOUND'
          : 'KEY_INVALID';
    return err(keyFileError(code, path, pem.error.message));
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem.value);
  } catch (error) {
    return err(
      keyFileError(
        'KEY_INVALID',
        path,
        `private key ${path} is unreadable: ${(error as Error).message}`,
      ),
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    return err(keyFileError('KEY_INVALID', path, `private key ${path} is not Ed25519`));
  }
  return ok(identityFromPrivateKey(privateKey));
}

/** Loads every `*.pub` in dir into a trust store; any bad file fails the whole load (fail closed). */
export async function loadTrustStore(dir: string): Promise<Result<TrustStore, KeyFileError>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.pub')).sort();
  } catch {
    return err(keyFileError('TRUST_DIR_INVALID', dir, `trust directory ${dir} cannot be read`));
  }
  if (names.length > TRUST_FILES_MAX) {
    return err(
      keyFileError(
        'TRUST_DIR_INVALID',
        dir,
        `trust directory ${dir} has over ${TRUST_FILES_MAX} keys`,
      ),
    );
  }
  const trust = new TrustStore();
  for (const fileName of names) {
    const path = join(dir, fileName);
    const parsed = parsePublicKeyFile(await readFile(path, 'utf8'), basename(fileName, '.pub'));
    if (!parsed.ok) return err(keyFileError('KEY_INVALID', path, `${path}: ${parsed.error}`));
    const existing = trust.get(keyIdOf(parsed.value.publicKey));
    if (existing && existing.role !== parsed.value.role) {
      return err(
        keyFileError(
          'KEY_INVALID',
          path,
          `${path}: key ${existing.keyId} is also listed as ${existing.role}`,
        ),
      );
    }
    trust.add(parsed.value);
  }
  return ok(trust);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
