import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZkSession, type SessionState } from '../../../lib/zookeeper/client.js';
import { ZkEnsemble, waitFor } from '../../support/zookeeper.js';

let zk: ZkEnsemble;
const sessions: ZkSession[] = [];

test.before(async () => {
  zk = await ZkEnsemble.start(1);
});

test.after(async () => {
  for (const session of sessions) await session.close();
  await zk.close();
});

test('after kill -9 and restart of the server, no session hangs: each reconnects or expires', async () => {
  // Many sessions make it likely that one connects while the restarting server accepts TCP
  // but never answers; without the reconnect watchdog that one hung for good.
  const last = new Map<ZkSession, SessionState>();
  for (let index = 0; index < 12; index++) {
    const session = await ZkSession.connect({
      servers: zk.servers(),
      sessionTimeoutMs: 10_000,
      connectTimeoutMs: 20_000,
      requestTimeoutMs: 5000,
    });
    sessions.push(session);
    session.onStateChange((state) => last.set(session, state));
  }
  await zk.kill(1);
  await waitFor(
    () => sessions.every((session) => last.get(session) === 'disconnected'),
    30_000,
    'every session to notice',
  );
  await zk.restart(1);
  await waitFor(
    () => sessions.every((session) => last.get(session) !== 'disconnected'),
    60_000,
    'every session to reconnect or expire',
  );
  for (const session of sessions) {
    if (last.get(session) !== 'connected') continue;
    assert.ok(await session.exists('/'), 'a reconnected session answers');
  }
});

test.run();
