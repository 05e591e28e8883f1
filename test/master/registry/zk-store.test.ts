import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { OPEN_ACL, ZkSession } from '../../../lib/zookeeper/client.js';
import { isZkError } from '../../../lib/zookeeper/errors.js';
import { RegistryCorruptError } from '../../../master/registry/errors.js';
import { DEFAULT_REGISTRY_LIMITS } from '../../../master/registry/limits.js';
import {
  ZkRegistryStore,
  registryPaths,
  type ZkRegistryStoreOptions,
} from '../../../master/registry/zk-store.js';
import { ZkEnsemble } from '../../support/zookeeper.js';
import { runRegistryStoreSuite } from './conformance.js';

const limits = { ...DEFAULT_REGISTRY_LIMITS, chunkBytes: 4096, registryBytesMax: 64 * 1024 };
const masters = { user: 'masters', password: 'zk-store-test' };
let zk: ZkEnsemble;
let roots = 0;
const cleanup: (() => Promise<void>)[] = [];

function zookeeper() {
  return {
    servers: zk.servers(),
    sessionTimeoutMs: 4000,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 3000,
  };
}

function storeAt(rootPath: string, extra: Partial<ZkRegistryStoreOptions> = {}): ZkRegistryStore {
  const store = new ZkRegistryStore({
    zookeeper: zookeeper(),
    rootPath,
    credentials: masters,
    limits,
    ...extra,
  });
  cleanup.push(() => store.close());
  return store;
}

async function session(withCredentials = true): Promise<ZkSession> {
  const opened = await ZkSession.connect({
    ...zookeeper(),
    ...(withCredentials ? { credentials: masters } : {}),
  });
  cleanup.push(() => opened.close());
  return opened;
}

const conformance = suite('zookeeper registry store conformance');
conformance.before(async () => {
  zk = await ZkEnsemble.start(1);
});
runRegistryStoreSuite(conformance, {
  registryBytesMax: limits.registryBytesMax,
  largeBytes: 40 * 1024,
  async fresh() {
    const rootPath = `/conformance${roots++}`;
    return { open: async () => storeAt(rootPath) };
  },
});
conformance.run();

const specific = suite('zookeeper registry store');
specific.after(async () => {
  for (const close of cleanup.reverse()) await close();
  await zk.close();
});

specific('a large registry is split into chunks and a rewrite removes the old ones', async () => {
  const store = storeAt('/chunks');
  const first = await store.store(new Uint8Array(randomBytes(10 * 4096 + 1)), undefined);
  assert.ok(first.ok);
  const reader = await session();
  const { chunks } = registryPaths('/chunks');
  const before = await reader.getChildren(chunks);
  assert.is(before.length, 11);
  const second = await store.store(
    new Uint8Array(randomBytes(3 * 4096)),
    first.ok ? first.value : '',
  );
  assert.ok(second.ok);
  const after = await reader.getChildren(chunks);
  assert.is(after.length, 3);
  assert.is(after.filter((name) => before.includes(name)).length, 0);
});

specific(
  'a deposed writer is fenced: once its election znode is gone its write fails with conflict',
  async () => {
    const candidate = await session();
    await candidate.ensurePath('/fence/masters', OPEN_ACL);
    const fence = await candidate.create(
      '/fence/masters/info_',
      new Uint8Array(0),
      OPEN_ACL,
      'ephemeral_sequential',
    );
    const store = storeAt('/fence', { fencePath: () => fence });
    const first = await store.store(new Uint8Array([1]), undefined);
    assert.ok(first.ok);
    await candidate.close();
    const late = await store.store(new Uint8Array([2]), first.ok ? first.value : '');
    assert.is(late.ok ? '' : late.error.code, 'conflict');
    assert.match(late.ok ? '' : late.error.message, /fenced/);
    const loaded = await storeAt('/fence').load();
    assert.equal([...(loaded?.bytes ?? [])], [1]);
    const notCandidate = await storeAt('/fence', { fencePath: () => undefined }).store(
      new Uint8Array([3]),
      undefined,
    );
    assert.is(notCandidate.ok ? '' : notCandidate.error.code, 'conflict');
    // The fenced write staged a chunk before its commit failed: it must not linger.
    const { chunks } = registryPaths('/fence');
    assert.is((await (await session()).getChildren(chunks)).length, 1);
  },
);

specific('orphan chunks from a crashed writer are removed by the next write', async () => {
  const store = storeAt('/orphans');
  const first = await store.store(new Uint8Array([1, 2]), undefined);
  assert.ok(first.ok);
  const writer = await session();
  const { chunks } = registryPaths('/orphans');
  await writer.create(
    `${chunks}/00112233aabbccdd_0000`,
    new Uint8Array([9]),
    OPEN_ACL,
    'persistent',
  );
  assert.equal([...((await store.load())?.bytes ?? [])], [1, 2]);
  const second = await store.store(new Uint8Array([3]), first.ok ? first.value : '');
  assert.ok(second.ok);
  // Collected after the write was acknowledged: by the time the next write starts at the latest.
  const third = await store.store(new Uint8Array([4]), second.ok ? second.value : '');
  assert.ok(third.ok);
  const names = await writer.getChildren(chunks);
  assert.is(names.length, 1, names.join(' '));
  assert.not.ok(names.includes('00112233aabbccdd_0000'));
});

specific('a corrupt head or chunk is reported as corrupt, never as empty', async () => {
  const store = storeAt('/corrupt');
  const first = await store.store(new Uint8Array([5, 5, 5]), undefined);
  assert.ok(first.ok);
  const writer = await session();
  const { head, chunks } = registryPaths('/corrupt');
  const [chunk] = await writer.getChildren(chunks);
  await writer.setData(`${chunks}/${chunk}`, new Uint8Array([5, 5, 6]), -1);
  const chunkError = await store.load().catch((error: unknown) => error);
  assert.instance(chunkError, RegistryCorruptError);
  await writer.setData(head, new TextEncoder().encode('{"format":7}'), -1);
  const headError = await store.load().catch((error: unknown) => error);
  assert.instance(headError, RegistryCorruptError);
});

specific(
  'without the masters credentials a client can neither read nor write the registry',
  async () => {
    const store = storeAt('/guarded');
    assert.ok((await store.store(new Uint8Array([1]), undefined)).ok);
    const stranger = await session(false);
    const { base, head, chunks } = registryPaths('/guarded');
    const attempts: Promise<unknown>[] = [
      stranger.setData(head, new Uint8Array([0]), -1),
      stranger.getData(head),
      stranger.remove(head, -1),
      stranger.create(
        `${chunks}/ffffffffffffffff_0000`,
        new Uint8Array([0]),
        OPEN_ACL,
        'persistent',
      ),
      stranger.create(`${base}/other`, new Uint8Array([0]), OPEN_ACL, 'persistent'),
    ];
    for (const attempt of attempts) {
      const error = await attempt.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      assert.ok(isZkError(error, 'no_auth'), String(error));
    }
    const outsider = new ZkRegistryStore({ zookeeper: zookeeper(), rootPath: '/guarded', limits });
    cleanup.push(() => outsider.close());
    const unauthenticated = await outsider.load().catch((error: unknown) => error);
    assert.match(String(unauthenticated), /no_auth|NO_AUTH/i);
  },
);

specific('readers racing a writer always see one complete registry', async () => {
  const writer = storeAt('/race');
  const reader = storeAt('/race');
  const payloads = Array.from({ length: 6 }, (_, round) =>
    new Uint8Array(3 * 4096).fill(round + 1),
  );
  const seen = new Set<number>();
  let expected: string | undefined;
  const reads: Promise<void>[] = [];
  for (const payload of payloads) {
    reads.push(
      reader.load().then((loaded) => {
        if (!loaded) return;
        const first = loaded.bytes[0]!;
        assert.ok(
          loaded.bytes.every((byte) => byte === first),
          'a registry mixed two writes',
        );
        seen.add(first);
      }),
    );
    const written = await writer.store(payload, expected);
    assert.ok(written.ok);
    expected = written.ok ? written.value : undefined;
  }
  await Promise.all(reads);
  assert.ok(seen.size >= 1);
});

specific.run();
