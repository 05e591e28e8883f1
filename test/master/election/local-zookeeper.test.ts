import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPEN_ACL, ZkSession } from '../../../lib/zookeeper/client.js';
import {
  DEFAULT_LOCAL_ZOOKEEPER_LIMITS,
  ZooKeeperStartError,
  pickFreePorts,
  startLocalZooKeeper,
  withPortRetries,
} from '../../../master/election/local-zookeeper.js';

function connect(servers: string): Promise<ZkSession> {
  return ZkSession.connect({
    servers,
    sessionTimeoutMs: 2000,
    connectTimeoutMs: 20_000,
    requestTimeoutMs: 10_000,
  });
}

test('a local ZooKeeper serves, grants a 2 s session (short ticks), and leaves no temp dir', async () => {
  const zk = await startLocalZooKeeper();
  const dir = zk.server.dir;
  try {
    assert.match(zk.servers, /^127\.0\.0\.1:\d+$/);
    const session = await connect(zk.servers);
    try {
      assert.is(session.sessionTimeoutMs, 2000);
      await session.create('/hello', new TextEncoder().encode('hi'), OPEN_ACL, 'persistent');
      assert.is(new TextDecoder().decode((await session.getData('/hello')).data), 'hi');
    } finally {
      await session.close();
    }
  } finally {
    await zk.stop();
  }
  assert.is(existsSync(dir), false);
});

test('with a data dir, what was written survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-local-zk-test-'));
  try {
    const first = await startLocalZooKeeper({ dir });
    const writer = await connect(first.servers);
    await writer.create('/kept', new Uint8Array([7]), OPEN_ACL, 'persistent');
    await writer.close();
    await first.stop();
    const second = await startLocalZooKeeper({ dir });
    try {
      const reader = await connect(second.servers);
      assert.equal([...(await reader.getData('/kept')).data], [7]);
      await reader.close();
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

test('pickFreePorts skips ports in use and stays in its range', async () => {
  // Hold three ports of a four-port range: only the fourth can be picked.
  for (let tries = 0; tries < 20; tries++) {
    const [base] = await pickFreePorts(1, { ...DEFAULT_LOCAL_ZOOKEEPER_LIMITS, portMax: 31_000 });
    const held = await Promise.all([0, 1, 2].map((offset) => listen(base! + offset)));
    try {
      if (held.some((server) => server === undefined)) continue;
      const limits = { ...DEFAULT_LOCAL_ZOOKEEPER_LIMITS, portMin: base!, portMax: base! + 3 };
      const free = await listen(base! + 3);
      if (!free) continue;
      await new Promise((resolve) => free.close(resolve));
      assert.equal(await pickFreePorts(1, limits), [base! + 3]);
      return;
    } finally {
      await Promise.all(held.map((server) => server && new Promise((r) => server.close(r))));
    }
  }
  assert.unreachable('never found four consecutive free ports');
});

test('withPortRetries starts again on new ports when a server dies before serving', async () => {
  const seen: number[][] = [];
  const result = await withPortRetries(DEFAULT_LOCAL_ZOOKEEPER_LIMITS, async (ports) => {
    const picked = [...(await ports(2)), ...(await ports(1))];
    assert.is(new Set(picked).size, 3, 'ports within one attempt are distinct');
    seen.push(picked);
    if (seen.length < 2) throw new ZooKeeperStartError('port taken');
    return 'started';
  });
  assert.is(result, 'started');
  assert.is(seen.length, 2);
  const failing = await withPortRetries(DEFAULT_LOCAL_ZOOKEEPER_LIMITS, async () => {
    throw new ZooKeeperStartError('always');
  }).catch((error: unknown) => error);
  assert.instance(failing, ZooKeeperStartError);
  const other = await withPortRetries(DEFAULT_LOCAL_ZOOKEEPER_LIMITS, async () => {
    throw new TypeError('a bug');
  }).catch((error: unknown) => error);
  assert.instance(other, TypeError, 'other errors are not retried');
});

test.run();
