import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../lib/log.js';
import { err, ok } from '../../lib/result.js';
import { formatPublicKeyFile } from '../../protocol/keys/files.js';
import { generateIdentity, type Identity } from '../../protocol/keys/identity.js';
import type { Role } from '../../protocol/keys/roles.js';
import { TrustReloader } from '../../protocol/keys/trust-reload.js';
import { TrustStore } from '../../protocol/keys/trust.js';

/** A hang guard for file-system events on a loaded host, not a timing assertion. */
const DEADLINE_MS = 30_000;
const dirs: string[] = [];
const reloaders: TrustReloader[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-trust-'));
  dirs.push(dir);
  return dir;
}

async function writeKey(dir: string, name: string, role: Role, identity = generateIdentity()) {
  await writeFile(join(dir, `${name}.pub`), formatPublicKeyFile(identity.publicKey, role, name));
  return identity;
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function recordingLogger() {
  const lines: string[] = [];
  return {
    lines,
    logger: createLogger('trust', { level: 'debug', sink: { write: (line) => lines.push(line) } }),
  };
}

function start(options: ConstructorParameters<typeof TrustReloader>[0]): TrustReloader {
  const reloader = new TrustReloader(options);
  reloaders.push(reloader);
  return reloader;
}

const holds = (store: TrustStore, identity: Identity) => store.get(identity.keyId) !== undefined;

test.after(async () => {
  for (const reloader of reloaders) await reloader.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('a key added to the directory is trusted without a restart (fs.watch)', async () => {
  const dir = await tempDir();
  const first = await writeKey(dir, 'm1', 'master');
  const store = new TrustStore();
  const reloader = start({ dir, store, onSighup: false, debounceMs: 20 });
  assert.ok((await reloader.reload()).ok);
  assert.ok(holds(store, first));
  const second = await writeKey(dir, 'm2', 'master');
  await until('the new key', () => holds(store, second));
  assert.ok(holds(store, first));
  await unlink(join(dir, 'm1.pub'));
  await until('the removed key gone', () => !holds(store, first));
  assert.is(store.size, 1);
});

test('a bad file keeps the previous keys (fail closed) and logs why; fixing it reloads', async () => {
  const dir = await tempDir();
  const kept = await writeKey(dir, 'm1', 'master');
  const store = new TrustStore();
  const { lines, logger } = recordingLogger();
  const reloader = start({ dir, store, onSighup: false, watchDirectory: false, logger });
  assert.ok((await reloader.reload()).ok);
  const added = await writeKey(dir, 'm2', 'master');
  await writeFile(join(dir, 'broken.pub'), '# role: master\nnot a key\n');
  const refused = await reloader.reload();
  assert.not.ok(refused.ok);
  assert.match(!refused.ok ? refused.error : '', /broken\.pub: no PEM public key block/);
  assert.ok(holds(store, kept), 'the old keys stay');
  assert.not.ok(holds(store, added), 'nothing of the refused directory is taken');
  assert.ok(
    lines.some((line) => line.includes('not reloaded') && line.includes('broken.pub')),
    lines.join(''),
  );
  await unlink(join(dir, 'broken.pub'));
  assert.ok((await reloader.reload()).ok);
  assert.ok(holds(store, added));
});

test('select narrows the directory and may refuse it: an empty result keeps the old store', async () => {
  const dir = await tempDir();
  const master = await writeKey(dir, 'm1', 'master');
  const framework = await writeKey(dir, 'f1', 'framework');
  const store = new TrustStore();
  const mastersOnly = (loaded: TrustStore) => {
    const masters = new TrustStore(loaded.list().filter((key) => key.role === 'master'));
    return masters.size > 0 ? ok(masters) : err(`no master key in ${dir}`);
  };
  const reloader = start({
    dir,
    store,
    select: mastersOnly,
    onSighup: false,
    watchDirectory: false,
  });
  assert.ok((await reloader.reload()).ok);
  assert.ok(holds(store, master));
  assert.not.ok(holds(store, framework));
  await unlink(join(dir, 'm1.pub'));
  const refused = await reloader.reload();
  assert.not.ok(refused.ok);
  assert.ok(holds(store, master), 'no master key at all is refused, not trusted as empty');
});

test('SIGHUP reloads the directory', async () => {
  const dir = await tempDir();
  await writeKey(dir, 'm1', 'master');
  const store = new TrustStore();
  const reloader = start({ dir, store, watchDirectory: false });
  assert.ok((await reloader.reload()).ok);
  const added = await writeKey(dir, 'm2', 'master');
  assert.not.ok(holds(store, added), 'no watcher: nothing changes by itself');
  process.kill(process.pid, 'SIGHUP');
  await until('the key after SIGHUP', () => holds(store, added));
});

test('a burst of changes is read in fewer loads than changes, and the last state wins', async () => {
  const dir = await tempDir();
  const store = new TrustStore();
  await writeKey(dir, 'm0', 'master');
  const reloader = start({ dir, store, onSighup: false, debounceMs: 100 });
  assert.ok((await reloader.reload()).ok);
  const before = reloader.attempts;
  const identities: Identity[] = [];
  for (let index = 1; index <= 20; index++)
    identities.push(await writeKey(dir, `m${index}`, 'master'));
  await until('every key', () => identities.every((identity) => holds(store, identity)));
  assert.ok(reloader.attempts - before < 20, `${reloader.attempts - before} loads for 20 writes`);
});

test('loads never overlap: calls during one share a single follow-up that sees the latest files', async () => {
  const dir = await tempDir();
  const store = new TrustStore();
  await writeKey(dir, 'm0', 'master');
  const reloader = start({ dir, store, onSighup: false, watchDirectory: false });
  const first = reloader.reload();
  // Written while the first load runs (it may or may not see it; the follow-up must).
  const late = generateIdentity();
  writeFileSync(join(dir, 'late.pub'), formatPublicKeyFile(late.publicKey, 'master', 'late'));
  const second = reloader.reload();
  const third = reloader.reload();
  assert.is(second, third, 'one follow-up for both');
  await Promise.all([first, second]);
  assert.ok(holds(store, late));
  assert.is(reloader.attempts, 2);
});

test('the store object is the same before and after: holders see the swap', async () => {
  const dir = await tempDir();
  const first = await writeKey(dir, 'm1', 'master');
  const store = new TrustStore();
  const held = store;
  const reloader = start({ dir, store, onSighup: false, watchDirectory: false });
  await reloader.reload();
  assert.ok(holds(held, first));
  await reloader.close();
  const after = await writeKey(dir, 'm2', 'master');
  const closed = await reloader.reload();
  assert.not.ok(closed.ok, 'a closed reloader changes nothing');
  assert.not.ok(holds(held, after));
});

test.run();
