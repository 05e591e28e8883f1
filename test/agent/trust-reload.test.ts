import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { readMasterKeys } from '../../agent/checkpoint/identity.js';
import { silentLogger } from '../../lib/log.js';
import { formatPublicKeyFile } from '../../protocol/keys/files.js';
import { generateIdentity } from '../../protocol/keys/identity.js';
import { eventually, FakeMaster } from './support/fake-master.js';
import { AGENT_DEADLINE_MS } from './support/task-updates.js';

const master = new FakeMaster();
const base = mkdtempSync(join(tmpdir(), 'wasmos-agent-trust-'));
const trustDir = join(base, 'trust');
let agent: RunningAgent | undefined;

test.after(async () => {
  await agent?.stop();
  await master.stop();
  rmSync(base, { recursive: true, force: true });
});

test('a master key added to the trust directory is used without restarting the agent', async () => {
  await master.start();
  const identity = generateIdentity();
  master.trustAgent(identity);
  // At first the agent trusts only some other master: it refuses this master's events.
  const other = generateIdentity();
  mkdirSync(trustDir);
  writeFileSync(join(trustDir, 'old.pub'), formatPublicKeyFile(other.publicKey, 'master', 'old'));
  agent = await startAgent({
    masterUrl: master.url,
    workDir: join(base, 'work'),
    trust: await readMasterKeys(trustDir),
    trustDir,
    identity,
    resources: { cpus: 1, mem: 256 },
    runtimes: ['wasm'],
    logger: silentLogger,
    limits: { reconnectBackoffBaseMs: 20, reconnectBackoffMaxMs: 200 },
  });
  await eventually(
    'a refused subscription',
    // A second REGISTER: the first stream's events were refused and the agent reconnected.
    () =>
      master.calls.filter((each) => each.call.type === 'REGISTER').length >= 2 ? true : undefined,
    AGENT_DEADLINE_MS,
  );
  assert.is(agent.agentId, undefined, 'REGISTERED signed by an untrusted master is not opened');
  writeFileSync(
    join(trustDir, 'master.pub'),
    formatPublicKeyFile(master.identity.publicKey, 'master', 'master'),
  );
  const running = agent;
  await eventually('registered', () => running.agentId, AGENT_DEADLINE_MS);
  assert.ok(running.snapshot().connected);
});

test.run();
