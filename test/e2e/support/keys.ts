import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import {
  generateIdentity,
  TrustStore,
  writeKeyPair,
  type Identity,
} from '../../../protocol/index.js';

/**
 * Keys for a test cluster in a fresh temporary directory: the master's key pair in `keys/`, and
 * a trust directory (`trust/`) holding the public keys of everyone (frameworks, agents, the
 * master), usable both as the master's `--trust` and as the agents' (they keep master keys only).
 */
export interface ClusterKeys {
  readonly dir: string;
  readonly master: Identity;
  readonly masterKeyFile: string;
  readonly trustDir: string;
  /** The master's public key, for opening the events it signs. */
  readonly masterTrust: TrustStore;
  readonly framework: Identity;
  readonly agents: readonly Identity[];
  /** Private key files of `agents`, in order (for `wasmos agent --key`). */
  readonly agentKeyFiles: readonly string[];
  /** An agent key the master does not trust. */
  readonly stranger: Identity;
}

export async function makeClusterKeys(agentCount = 2): Promise<ClusterKeys> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-e2e-'));
  const trustDir = join(dir, 'trust');
  const master = generateIdentity();
  const masterPair = await writeKeyPair(join(dir, 'keys'), 'master', 'master', master);
  assert.ok(masterPair.ok);
  const masterPub = await writeKeyPair(trustDir, 'master', 'master', master);
  assert.ok(masterPub.ok);
  const framework = generateIdentity();
  assert.ok((await writeKeyPair(trustDir, 'framework', 'framework', framework)).ok);
  const agents: Identity[] = [];
  const agentKeyFiles: string[] = [];
  for (let index = 0; index < agentCount; index++) {
    const agent = generateIdentity();
    const pair = await writeKeyPair(join(dir, 'agent-keys'), `agent${index}`, 'agent', agent);
    assert.ok(pair.ok);
    assert.ok((await writeKeyPair(trustDir, `agent${index}`, 'agent', agent)).ok);
    agents.push(agent);
    agentKeyFiles.push(pair.value.privateKeyPath);
  }
  return {
    dir,
    master,
    masterKeyFile: masterPair.value.privateKeyPath,
    trustDir,
    masterTrust: new TrustStore([{ publicKey: master.publicKey, role: 'master', name: 'master' }]),
    framework,
    agents,
    agentKeyFiles,
    stranger: generateIdentity(),
  };
}
