import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatPublicKeyFile,
  generateIdentity,
  isKeyId,
  keyIdOf,
  loadPrivateKey,
  loadTrustStore,
  parsePublicKeyFile,
  writeKeyPair,
} from '../../protocol/index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-keys-'));
  dirs.push(dir);
  return dir;
}

test.after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('a key id is stable, derived from the public key, and matches the documented pattern', () => {
  const identity = generateIdentity();
  assert.ok(isKeyId(identity.keyId));
  assert.is(keyIdOf(identity.publicKey), identity.keyId);
  assert.is.not(generateIdentity().keyId, identity.keyId);
});

test('a key id is SHA-256 of the raw public key, base32, behind wk_ (known answer)', async () => {
  // RFC 8032 test vector 1 public key.
  const raw = Buffer.from(
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    'hex',
  );
  const { createPublicKey } = await import('node:crypto');
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const { createHash } = await import('node:crypto');
  const prefix = createHash('sha256').update(raw).digest().subarray(0, 15);
  assert.is(keyIdOf(publicKey), 'wk_' + base32(prefix));
});

test('keygen writes a 0600 private key and a .pub with name, role and key id', async () => {
  const dir = join(await tempDir(), 'keys');
  const identity = generateIdentity();
  const written = await writeKeyPair(dir, 'agent-1', 'agent', identity);
  assert.ok(written.ok);
  assert.is((await stat(join(dir, 'agent-1.key'))).mode & 0o777, 0o600);
  assert.is((await stat(dir)).mode & 0o777, 0o700);
  const pub = await readFile(join(dir, 'agent-1.pub'), 'utf8');
  assert.match(pub, '# role: agent');
  assert.match(pub, `# key-id: ${identity.keyId}`);
  const loaded = await loadPrivateKey(join(dir, 'agent-1.key'));
  assert.is(loaded.ok ? loaded.value.keyId : loaded.error.code, identity.keyId);
});

test('keygen never overwrites an existing key', async () => {
  const dir = await tempDir();
  assert.ok((await writeKeyPair(dir, 'm', 'master', generateIdentity())).ok);
  const again = await writeKeyPair(dir, 'm', 'master', generateIdentity());
  assert.is(again.ok ? 'written' : again.error.code, 'KEY_EXISTS');
});

test('a key name with a path separator is refused', async () => {
  const result = await writeKeyPair(await tempDir(), '../evil', 'agent', generateIdentity());
  assert.is(result.ok ? 'written' : result.error.code, 'KEY_NAME_INVALID');
});

test('a group or world readable private key is refused with a clear error', async () => {
  const dir = await tempDir();
  await writeKeyPair(dir, 'a', 'agent', generateIdentity());
  const path = join(dir, 'a.key');
  for (const mode of [0o640, 0o604, 0o644]) {
    await chmod(path, mode);
    const result = await loadPrivateKey(path);
    assert.is(result.ok ? 'loaded' : result.error.code, 'KEY_PERMISSIONS');
    if (!result.ok) assert.match(result.error.message, `chmod 600 ${path}`);
  }
  await chmod(path, 0o400);
  assert.ok((await loadPrivateKey(path)).ok);
});

test('a missing or garbled private key is a typed error', async () => {
  const dir = await tempDir();
  const missing = await loadPrivateKey(join(dir, 'none.key'));
  assert.is(missing.ok ? 'loaded' : missing.error.code, 'KEY_NOT_FOUND');
  await writeFile(join(dir, 'bad.key'), 'not a key', { mode: 0o600 });
  const bad = await loadPrivateKey(join(dir, 'bad.key'));
  assert.is(bad.ok ? 'loaded' : bad.error.code, 'KEY_INVALID');
});

test('a trust directory loads every .pub with its role and name', async () => {
  const dir = await tempDir();
  const master = generateIdentity();
  const agent = generateIdentity();
  await writeKeyPair(dir, 'master', 'master', master);
  await writeKeyPair(dir, 'agent-1', 'agent', agent);
  await writeFile(join(dir, 'notes.txt'), 'ignored');
  const trust = await loadTrustStore(dir);
  assert.ok(trust.ok);
  if (!trust.ok) return;
  assert.is(trust.value.size, 2);
  assert.is(trust.value.get(master.keyId)?.role, 'master');
  assert.is(trust.value.get(agent.keyId)?.name, 'agent-1');
});

test('a .pub without a valid role, or with a mismatched key id, fails the whole load', async () => {
  const identity = generateIdentity();
  const good = formatPublicKeyFile(identity.publicKey, 'agent', 'x');
  const cases: Record<string, string> = {
    'no role': good.replace('# role: agent\n', ''),
    'bad role': good.replace('# role: agent', '# role: root'),
    'wrong id': good.replace(identity.keyId, generateIdentity().keyId),
    'no key': '# role: agent\n',
  };
  for (const [label, text] of Object.entries(cases)) {
    assert.is(parsePublicKeyFile(text, 'x').ok, false, label);
    const dir = await tempDir();
    await writeFile(join(dir, 'x.pub'), text);
    const trust = await loadTrustStore(dir);
    assert.is(trust.ok ? 'loaded' : trust.error.code, 'KEY_INVALID', label);
  }
});

test('a .pub without a name header takes its name from the file name', () => {
  const text = formatPublicKeyFile(generateIdentity().publicKey, 'operator', 'ops').replace(
    '# name: ops\n',
    '',
  );
  const parsed = parsePublicKeyFile(text, 'alice');
  assert.is(parsed.ok ? parsed.value.name : parsed.error, 'alice');
});

test('a missing trust directory is a typed error', async () => {
  const trust = await loadTrustStore(join(await tempDir(), 'absent'));
  assert.is(trust.ok ? 'loaded' : trust.error.code, 'TRUST_DIR_INVALID');
});

function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bits = [...bytes].map((byte) => byte.toString(2).padStart(8, '0')).join('');
  return (bits.match(/.{5}/g) ?? []).map((chunk) => alphabet[parseInt(chunk, 2)]).join('');
}

test.run();
