import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, TrustStore, type Identity } from '../../../protocol/index.js';
import { writeTestKey } from '../../support/keys.js';

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
  const masterKeyFile = await writeTestKey(join(dir, 'keys'), 'master', 'master', master);
  await writeTestKey(trustDir, 'master', 'master', master);
  const framework = generateIdentity();
  await writeTestKey(trustDir, 'framework', 'framework', framework);
  const agents: Identity[] = [];
  const agentKeyFiles: string[] = [];
  for (let index = 0; index < agentCount; index++) {
    const agent = generateIdentity();
    agentKeyFiles.push(
      await writeTestKey(join(dir, 'agent-keys'), `agent${index}`, 'agent', agent),
    );
    await writeTestKey(trustDir, `agent${index}`, 'agent', agent);
    agents.push(agent);
  }
  return {
    dir,
    master,
    masterKeyFile,
    trustDir,
    masterTrust: new TrustStore([{ publicKey: master.publicKey, role: 'master', name: 'master' }]),
    framework,
    agents,
    agentKeyFiles,
    stranger: generateIdentity(),
  };
}
