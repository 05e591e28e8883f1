import { join } from 'node:path';
import {
  generateIdentity,
  loadPrivateKey,
  loadTrustStore,
  TrustStore,
  writeKeyPair,
  type Identity,
} from '../../../protocol/index.js';

/**
 * Keys for a bench cluster in `dir`: the master's key pair, a framework key and one key per
 * agent, and a trust directory holding every public key (the master's `trustDir`).
 */
export interface BenchKeys {
  readonly masterKeyFile: string;
  readonly trustDir: string;
  /** Private key files, for child processes (which load them with loadPrivateKey). */
  readonly frameworkKeyFile: string;
  readonly agentKeyFiles: readonly string[];
}

async function pair(dir: string, name: string, role: 'master' | 'framework' | 'agent') {
  const identity = generateIdentity();
  const written = await writeKeyPair(join(dir, 'keys'), name, role, identity);
  if (!written.ok) throw new Error(written.error.message);
  const trusted = await writeKeyPair(join(dir, 'trust'), name, role, identity);
  if (!trusted.ok) throw new Error(trusted.error.message);
  return { identity, keyFile: written.value.privateKeyPath };
}

export async function makeBenchKeys(dir: string, agentCount: number): Promise<BenchKeys> {
  const master = await pair(dir, 'master', 'master');
  const framework = await pair(dir, 'framework', 'framework');
  const agentKeyFiles: string[] = [];
  for (let index = 0; index < agentCount; index++)
    agentKeyFiles.push((await pair(dir, `agent${index}`, 'agent')).keyFile);
  return {
    masterKeyFile: master.keyFile,
    trustDir: join(dir, 'trust'),
    frameworkKeyFile: framework.keyFile,
    agentKeyFiles,
  };
}

/** What an agent or a framework trusts: the master keys of the trust directory. */
export async function loadMasterTrust(trustDir: string): Promise<TrustStore> {
  const loaded = await loadTrustStore(trustDir);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return new TrustStore(loaded.value.list().filter((key) => key.role === 'master'));
}

export async function loadIdentity(keyFile: string): Promise<Identity> {
  const loaded = await loadPrivateKey(keyFile);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}
