/**
 * A leader in its own process for the stale-writer test: leads, writes the registry, reports
 * "ready", and when told to (after being paused and resumed) writes again with the version it
 * knew, without asking whether it still leads, and reports the result.
 */
import { LeaderElection } from '../../../master/election/election.js';
import { ZkRegistryStore } from '../../../master/registry/zk-store.js';
import { TEST_ELECTION_LIMITS } from './harness.js';

const [servers = '', rootPath = '', credentialsJson = '{}'] = process.argv.slice(2);
const credentials = JSON.parse(credentialsJson) as { user: string; password: string };
const sessionTimeoutMs = TEST_ELECTION_LIMITS.sessionTimeoutMs;
const election = new LeaderElection({
  servers,
  rootPath,
  credentials,
  info: { id: 'old-leader', address: 'http://old.test:5050', publicKey: 'old' },
  limits: TEST_ELECTION_LIMITS,
});
const store = new ZkRegistryStore({
  zookeeper: { servers, sessionTimeoutMs, connectTimeoutMs: 3000, requestTimeoutMs: 2000 },
  rootPath,
  credentials,
  fencePath: () => election.fencePath,
});

election.on(async (event) => {
  if (event.type !== 'elected' || process.env.WRITTEN) return;
  process.env.WRITTEN = '1';
  const loaded = await store.load();
  const written = await store.store(
    new TextEncoder().encode('from the old leader'),
    loaded?.version,
  );
  if (!written.ok) throw new Error(`first write failed: ${written.error.message}`);
  process.on('message', async () => {
    const leading = election.isLeading();
    const late = await store.store(new TextEncoder().encode('stale write'), written.value);
    process.send?.({
      type: 'result',
      ok: late.ok,
      code: late.ok ? undefined : late.error.code,
      message: late.ok ? undefined : late.error.message,
      leading,
    });
  });
  process.send?.({ type: 'ready', version: written.value });
});
election.start();
