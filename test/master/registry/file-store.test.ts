import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileRegistryStore,
  JOURNAL_FILE_NAME,
  REGISTRY_FILE_NAME,
  encodeRegistryFile,
} from '../../../master/registry/file-store.js';
import { RegistryCorruptError } from '../../../master/registry/errors.js';
import { DEFAULT_REGISTRY_LIMITS } from '../../../master/registry/limits.js';
import { runRegistryStoreSuite } from './conformance.js';

const dirs: string[] = [];
const limits = { ...DEFAULT_REGISTRY_LIMITS, registryBytesMax: 256 * 1024 };

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-registry-'));
  dirs.push(dir);
  return dir;
}

const conformance = suite('file registry store conformance');
conformance.after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
runRegistryStoreSuite(conformance, {
  registryBytesMax: limits.registryBytesMax,
  largeBytes: 200 * 1024,
  async fresh() {
    const dir = await freshDir();
    return { open: async () => new FileRegistryStore(dir, limits) };
  },
});
conformance.run();

async function loadError(store: FileRegistryStore): Promise<unknown> {
  try {
    await store.load();
  } catch (error) {
    return error;
  }
  return undefined;
}

const crash = suite('file registry store crash safety');

crash('a leftover temp file from a crash before the rename is ignored and removed', async () => {
  const dir = await freshDir();
  const store = new FileRegistryStore(dir);
  const written = await store.store(new Uint8Array([1, 1]), undefined);
  assert.ok(written.ok);
  // A crash after writing the next temp file but before renaming it over the registry:
  await writeFile(
    join(dir, `${REGISTRY_FILE_NAME}.tmp-dead`),
    encodeRegistryFile(2n, new Uint8Array([2])),
  );
  const reopened = new FileRegistryStore(dir);
  const loaded = await reopened.load();
  assert.equal([...(loaded?.bytes ?? [])], [1, 1]);
  assert.is(loaded?.version, written.ok ? written.value : '');
  assert.equal(await readdir(dir), [REGISTRY_FILE_NAME]);
});

crash('a truncated registry file is reported as corrupt, never as empty', async () => {
  const dir = await freshDir();
  const store = new FileRegistryStore(dir);
  assert.ok((await store.store(new Uint8Array(1000).fill(7), undefined)).ok);
  await truncate(join(dir, REGISTRY_FILE_NAME), 600);
  const error = await loadError(new FileRegistryStore(dir));
  assert.instance(error, RegistryCorruptError);
  assert.match(String(error), /header says 1000/);
  const write = await store.store(new Uint8Array([1]), undefined);
  assert.is(write.ok ? '' : write.error.code, 'unavailable');
});

crash('a flipped bit in the registry fails the checksum', async () => {
  const dir = await freshDir();
  const store = new FileRegistryStore(dir);
  assert.ok((await store.store(new Uint8Array(64).fill(3), undefined)).ok);
  const path = join(dir, REGISTRY_FILE_NAME);
  const raw = await readFile(path);
  raw.writeUInt8(raw.readUInt8(raw.length - 5) ^ 0x10, raw.length - 5);
  await writeFile(path, raw);
  const error = await loadError(new FileRegistryStore(dir));
  assert.instance(error, RegistryCorruptError);
  assert.match(String(error), /checksum/);
});

crash('a file that is not a registry (or an empty one) is corrupt', async () => {
  const dir = await freshDir();
  await writeFile(join(dir, REGISTRY_FILE_NAME), '');
  assert.instance(await loadError(new FileRegistryStore(dir)), RegistryCorruptError);
  await writeFile(join(dir, REGISTRY_FILE_NAME), 'hello, this is not a registry at all, no sir');
  assert.instance(await loadError(new FileRegistryStore(dir)), RegistryCorruptError);
});

crash('the version counter keeps growing across reopenings', async () => {
  const dir = await freshDir();
  let expected: string | undefined;
  const counters: number[] = [];
  for (let round = 0; round < 3; round++) {
    const written = await new FileRegistryStore(dir).store(new Uint8Array([round]), expected);
    assert.ok(written.ok);
    if (!written.ok) return;
    expected = written.value;
    counters.push(Number(written.value.split('-')[0]));
  }
  assert.equal(counters, [1, 2, 3]);
});

crash(
  'concurrent writes from one store are serialized: exactly one of two racers wins',
  async () => {
    const dir = await freshDir();
    const store = new FileRegistryStore(dir);
    const results = await Promise.all([
      store.store(new Uint8Array([1]), undefined),
      store.store(new Uint8Array([2]), undefined),
    ]);
    assert.equal(results.map((result) => result.ok).sort(), [false, true]);
  },
);

crash.run();

const journal = suite('file registry store: changes appended after the registry');

/** A store holding registry [0] and the changes [1], [2], and the version after them. */
async function withChanges(dir: string): Promise<{ store: FileRegistryStore; version: string }> {
  const store = new FileRegistryStore(dir);
  const whole = await store.store(new Uint8Array([0]), undefined);
  assert.ok(whole.ok);
  let version = whole.ok ? whole.value : '';
  for (const value of [1, 2]) {
    const appended = await store.append(new Uint8Array([value]), version);
    assert.ok(appended.ok, appended.ok ? '' : appended.error.message);
    if (appended.ok) version = appended.value;
  }
  return { store, version };
}

const changesOf = (loaded: Awaited<ReturnType<FileRegistryStore['load']>>) =>
  (loaded?.changes ?? []).map((change) => [...change]);

journal('appended changes come back in order, also to a reopened store', async () => {
  const dir = await freshDir();
  const { store, version } = await withChanges(dir);
  const loaded = await store.load();
  assert.equal([...(loaded?.bytes ?? [])], [0]);
  assert.equal(changesOf(loaded), [[1], [2]]);
  assert.is(loaded?.version, version);
  const reopened = await new FileRegistryStore(dir).load();
  assert.equal(changesOf(reopened), [[1], [2]]);
  assert.is(reopened?.version, version);
  // The registry file itself was written once.
  const raw = await readFile(join(dir, REGISTRY_FILE_NAME));
  assert.is(raw.at(-1), 0);
});

journal('an append naming a stale version fails with conflict and adds nothing', async () => {
  const dir = await freshDir();
  const { store, version } = await withChanges(dir);
  const before = version.replace(/\+\d+$/, '');
  const stale = await store.append(new Uint8Array([9]), before);
  assert.is(stale.ok ? '' : stale.error.code, 'conflict');
  const other = await new FileRegistryStore(dir).append(new Uint8Array([3]), version);
  assert.ok(other.ok);
  const late = await store.append(new Uint8Array([9]), version);
  assert.is(late.ok ? '' : late.error.code, 'conflict');
  assert.equal(changesOf(await store.load()), [[1], [2], [3]]);
});

journal('a whole write needs the version with the changes and drops them', async () => {
  const dir = await freshDir();
  const { store, version } = await withChanges(dir);
  const loaded = await store.load();
  const whole = loaded?.version.replace(/\+\d+$/, '');
  const stale = await store.store(new Uint8Array([7]), whole);
  assert.is(stale.ok ? '' : stale.error.code, 'conflict');
  const written = await store.store(new Uint8Array([5]), version);
  assert.ok(written.ok);
  const after = await new FileRegistryStore(dir).load();
  assert.equal([...(after?.bytes ?? [])], [5]);
  assert.equal(changesOf(after), []);
  assert.is(after?.version, written.ok ? written.value : '');
  const appended = await store.append(new Uint8Array([6]), after?.version ?? '');
  assert.ok(appended.ok);
  assert.equal(changesOf(await store.load()), [[6]]);
});

journal('a torn last change (a crash during its append) is cut off; appends go on', async () => {
  const dir = await freshDir();
  const { store } = await withChanges(dir);
  const path = join(dir, JOURNAL_FILE_NAME);
  const size = (await readFile(path)).length;
  await truncate(path, size - 1);
  const reopened = new FileRegistryStore(dir);
  const loaded = await reopened.load();
  assert.equal(changesOf(loaded), [[1]]);
  const appended = await reopened.append(new Uint8Array([4]), loaded?.version ?? '');
  assert.ok(appended.ok, appended.ok ? '' : appended.error.message);
  assert.equal(changesOf(await new FileRegistryStore(dir).load()), [[1], [4]]);
  await store.close();
});

journal('a damaged change with more after it is corruption, not a torn append', async () => {
  const dir = await freshDir();
  await withChanges(dir);
  const path = join(dir, JOURNAL_FILE_NAME);
  const raw = await readFile(path);
  // The first record's only byte of data (header 24, record header 36).
  raw[24 + 36] = raw[24 + 36]! ^ 0xff;
  await writeFile(path, raw);
  assert.instance(await loadError(new FileRegistryStore(dir)), RegistryCorruptError);
});

journal('a journal left from an earlier registry file is ignored', async () => {
  const dir = await freshDir();
  const { version } = await withChanges(dir);
  const path = join(dir, JOURNAL_FILE_NAME);
  const stale = await readFile(path);
  const written = await new FileRegistryStore(dir).store(new Uint8Array([8]), version);
  assert.ok(written.ok);
  // A crash right after the whole write, before the old journal was removed:
  await writeFile(path, stale);
  const store = new FileRegistryStore(dir);
  const loaded = await store.load();
  assert.equal([...(loaded?.bytes ?? [])], [8]);
  assert.equal(changesOf(loaded), []);
  assert.is(loaded?.version, written.ok ? written.value : '');
  const appended = await store.append(new Uint8Array([9]), loaded?.version ?? '');
  assert.ok(appended.ok);
  assert.equal(changesOf(await new FileRegistryStore(dir).load()), [[9]]);
});

journal('a change larger than registryBytesMax is refused as too_large', async () => {
  const dir = await freshDir();
  const store = new FileRegistryStore(dir, limits);
  const whole = await store.store(new Uint8Array([0]), undefined);
  assert.ok(whole.ok);
  const big = await store.append(
    new Uint8Array(limits.registryBytesMax + 1),
    whole.ok ? whole.value : '',
  );
  assert.is(big.ok ? '' : big.error.code, 'too_large');
  assert.equal(changesOf(await store.load()), []);
});

journal.run();
