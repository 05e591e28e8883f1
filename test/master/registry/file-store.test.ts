import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileRegistryStore,
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
