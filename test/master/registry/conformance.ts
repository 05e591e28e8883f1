/**
 * The behaviour every RegistryStore must have (file and ZooKeeper). Each store's test file
 * calls `runRegistryStoreSuite` with a factory; `open()` may be called several times and must
 * return stores over the SAME durable location (a reopened master).
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import type { RegistryStore } from '../../../master/registry/store.js';

export interface StoreFixture {
  /** A store over a fresh, empty location, plus a way to reopen it. */
  fresh(): Promise<{ open(): Promise<RegistryStore> }>;
  /** The largest registry the fixture's stores accept. */
  readonly registryBytesMax: number;
  /** A size that spans several chunks (or just "large" for a file). */
  readonly largeBytes: number;
}

export function runRegistryStoreSuite(suite: Test, fixture: StoreFixture): void {
  const opened: RegistryStore[] = [];
  const open = async (location: { open(): Promise<RegistryStore> }) => {
    const store = await location.open();
    opened.push(store);
    return store;
  };
  suite.after.each(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  suite('an empty store loads nothing', async () => {
    const store = await open(await fixture.fresh());
    assert.is(await store.load(), undefined);
  });

  suite('a write is read back with its version, also by a reopened store', async () => {
    const location = await fixture.fresh();
    const store = await open(location);
    const bytes = new Uint8Array([1, 2, 3]);
    const written = await store.store(bytes, undefined);
    assert.ok(written.ok);
    const loaded = await store.load();
    assert.equal(loaded && [...loaded.bytes], [1, 2, 3]);
    assert.is(loaded?.version, written.ok ? written.value : '');
    const reopened = await open(location);
    const again = await reopened.load();
    assert.equal(again && [...again.bytes], [1, 2, 3]);
    assert.is(again?.version, loaded?.version);
  });

  suite('each write gets a new version and needs the previous one', async () => {
    const store = await open(await fixture.fresh());
    const versions = new Set<string>();
    let expected: string | undefined;
    for (let round = 0; round < 4; round++) {
      const written = await store.store(new Uint8Array([round]), expected);
      assert.ok(written.ok, `round ${round}`);
      if (!written.ok) return;
      versions.add(written.value);
      expected = written.value;
    }
    assert.is(versions.size, 4);
    assert.equal([...((await store.load())?.bytes ?? [])], [3]);
  });

  suite('a write naming a stale version fails with conflict and changes nothing', async () => {
    const location = await fixture.fresh();
    const first = await open(location);
    const second = await open(location);
    const base = await first.store(new Uint8Array([1]), undefined);
    assert.ok(base.ok);
    if (!base.ok) return;
    const winner = await second.store(new Uint8Array([2]), base.value);
    assert.ok(winner.ok);
    const loser = await first.store(new Uint8Array([3]), base.value);
    assert.is(loser.ok, false);
    assert.is(loser.ok ? '' : loser.error.code, 'conflict');
    const fresh = await first.store(new Uint8Array([4]), undefined);
    assert.is(fresh.ok ? '' : fresh.error.code, 'conflict');
    const loaded = await second.load();
    assert.equal([...(loaded?.bytes ?? [])], [2]);
    assert.is(loaded?.version, winner.ok ? winner.value : '');
  });

  suite('a registry over the limit is refused with too_large and changes nothing', async () => {
    const store = await open(await fixture.fresh());
    const base = await store.store(new Uint8Array([9]), undefined);
    assert.ok(base.ok);
    if (!base.ok) return;
    const big = await store.store(new Uint8Array(fixture.registryBytesMax + 1), base.value);
    assert.is(big.ok, false);
    if (big.ok) return;
    assert.is(big.error.code, 'too_large');
    assert.equal([...((await store.load())?.bytes ?? [])], [9]);
    const atLimit = await store.store(new Uint8Array(fixture.registryBytesMax), base.value);
    assert.ok(atLimit.ok);
  });

  suite('large and empty registries round-trip byte for byte', async () => {
    const store = await open(await fixture.fresh());
    const large = new Uint8Array(randomBytes(fixture.largeBytes));
    const first = await store.store(large, undefined);
    assert.ok(first.ok);
    if (!first.ok) return;
    assert.ok(Buffer.from((await store.load())?.bytes ?? []).equals(Buffer.from(large)));
    const second = await store.store(new Uint8Array(0), first.value);
    assert.ok(second.ok);
    const loaded = await store.load();
    assert.is(loaded?.bytes.byteLength, 0);
    assert.is(loaded?.version, second.ok ? second.value : '');
  });
}
