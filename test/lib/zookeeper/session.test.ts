import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ZkSession,
  OPEN_ACL,
  digestAcl,
  type ZkConnectOptions,
} from '../../../lib/zookeeper/client.js';
import { isZkError } from '../../../lib/zookeeper/errors.js';
import { ZkEnsemble } from '../../support/zookeeper.js';

const masters = { user: 'masters', password: 'right-password' };
let zk: ZkEnsemble;
const sessions: ZkSession[] = [];

function options(extra: Partial<ZkConnectOptions> = {}): ZkConnectOptions {
  return {
    servers: zk.servers(),
    sessionTimeoutMs: 4000,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 3000,
    ...extra,
  };
}

async function open(extra: Partial<ZkConnectOptions> = {}): Promise<ZkSession> {
  const session = await ZkSession.connect(options(extra));
  sessions.push(session);
  return session;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

test.before(async () => {
  zk = await ZkEnsemble.start(1);
});

test.after(async () => {
  for (const session of sessions) await session.close();
  await zk.close();
});

test('create, read and compare-and-set a znode by version', async () => {
  const session = await open();
  await session.ensurePath('/t1/a', OPEN_ACL);
  await session.create('/t1/a/x', bytes('one'), OPEN_ACL, 'persistent');
  const first = await session.getData('/t1/a/x');
  assert.is(text(first.data), 'one');
  assert.is(first.stat.version, 0);
  const stat = await session.setData('/t1/a/x', bytes('two'), 0);
  assert.is(stat.version, 1);
  const stale = await rejection(session.setData('/t1/a/x', bytes('three'), 0));
  assert.ok(isZkError(stale, 'bad_version'));
  assert.is(text((await session.getData('/t1/a/x')).data), 'two');
  assert.ok(isZkError(await rejection(session.getData('/t1/none')), 'no_node'));
  assert.is(await session.exists('/t1/none'), undefined);
});

test('a multi applies all operations or none, and names the failing one', async () => {
  const session = await open();
  await session.ensurePath('/t2', OPEN_ACL);
  await session.create('/t2/head', bytes('v0'), OPEN_ACL, 'persistent');
  const failed = await rejection(
    session.multi([
      { op: 'create', path: '/t2/new', data: bytes('n'), acl: OPEN_ACL },
      { op: 'set', path: '/t2/head', data: bytes('v1'), version: 7 },
    ]),
  );
  assert.ok(isZkError(failed, 'bad_version'));
  assert.is(isZkError(failed) ? failed.opIndex : undefined, 1);
  assert.is(await session.exists('/t2/new'), undefined);
  // Version 0 must be checked, not treated as "any version".
  await session.multi([
    { op: 'check', path: '/t2/head', version: 0 },
    { op: 'create', path: '/t2/new', data: bytes('n'), acl: OPEN_ACL },
    { op: 'set', path: '/t2/head', data: bytes('v1'), version: 0 },
  ]);
  const retried = await rejection(
    session.multi([{ op: 'set', path: '/t2/head', data: bytes('v2'), version: 0 }]),
  );
  assert.ok(isZkError(retried, 'bad_version'));
  assert.is(text((await session.getData('/t2/head')).data), 'v1');
  assert.equal(
    await session.getChildren('/t2'),
    ['head', 'new'].filter((name) => name === 'head' || name === 'new').sort(),
  );
});

test('ephemeral sequential znodes vanish when their session closes', async () => {
  const owner = await open();
  const watcher = await open();
  await owner.ensurePath('/t3', OPEN_ACL);
  const path = await owner.create('/t3/info_', bytes('{}'), OPEN_ACL, 'ephemeral_sequential');
  assert.match(path, /^\/t3\/info_\d{10}$/);
  let fire = () => {};
  const fired = new Promise<void>((resolve) => (fire = resolve));
  // The watch must be set before the close, or it would watch for the znode's creation.
  assert.ok(await watcher.exists(path, () => fire()));
  await owner.close();
  await fired;
  assert.is(await watcher.exists(path), undefined);
  assert.ok(isZkError(await rejection(owner.getData('/t3')), 'closed'));
});

test('digest ACLs: only the credential holder writes, creates or deletes; world read is opt-in', async () => {
  const master = await open({ credentials: masters });
  const stranger = await open();
  const impostor = await open({ credentials: { user: 'masters', password: 'wrong' } });
  await master.ensurePath('/t4', OPEN_ACL);
  // Deleting a znode needs DELETE on its parent, so the parent is guarded too.
  await master.create('/t4/guarded', bytes(''), digestAcl(masters, true), 'persistent');
  await master.create('/t4/guarded/secret', bytes('s'), digestAcl(masters, false), 'persistent');
  await master.create('/t4/guarded/public', bytes('p'), digestAcl(masters, true), 'persistent');
  for (const client of [stranger, impostor]) {
    assert.ok(
      isZkError(await rejection(client.setData('/t4/guarded/secret', bytes('x'), -1)), 'no_auth'),
    );
    assert.ok(
      isZkError(await rejection(client.setData('/t4/guarded/public', bytes('x'), -1)), 'no_auth'),
    );
    assert.ok(isZkError(await rejection(client.getData('/t4/guarded/secret')), 'no_auth'));
    assert.ok(isZkError(await rejection(client.remove('/t4/guarded/public', -1)), 'no_auth'));
    const fake = client.create('/t4/guarded/info_', bytes('{}'), OPEN_ACL, 'ephemeral_sequential');
    assert.ok(isZkError(await rejection(fake), 'no_auth'));
    assert.is(text((await client.getData('/t4/guarded/public')).data), 'p');
  }
  await master.setData('/t4/guarded/secret', bytes('s2'), -1);
  assert.is(text((await master.getData('/t4/guarded/secret')).data), 's2');
  const acl = await master.getAcl('/t4/guarded/public');
  assert.equal(acl.map((entry) => entry.scheme).sort(), ['digest', 'world']);
});

test('connecting to a server that is not there fails with timeout', async () => {
  const failure = await rejection(
    ZkSession.connect({ ...options(), servers: '127.0.0.1:1', connectTimeoutMs: 500 }),
  );
  assert.ok(isZkError(failure, 'timeout'));
});

test.run();
