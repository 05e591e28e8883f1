import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { WasmosError } from '../../lib/errors.js';
import {
  generateIdentity,
  identityFromPrivateKey,
  type Identity,
} from '../../protocol/keys/identity.js';
import { TrustStore } from '../../protocol/keys/trust.js';
import { writeFileAtomic } from './atomic.js';

/**
 * The agent's identity in its work dir: its Ed25519 key (`agent.key`, PKCS#8 PEM, mode 0600,
 * generated on first start unless `--key` names one) and the agent id the master gave it
 * (`agent.json`, written atomically when it registers).
 */
const AgentRecord = z.strictObject({ agent_id: z.string().min(1).max(256) });

export async function loadOrCreateKey(path: string): Promise<Identity> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const identity = generateIdentity();
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(
      path,
      identity.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    );
    return identity;
  }
  return identityFromPrivateKey(parsePrivateKey(pem, path));
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new WasmosError('BAD_KEY', `${path} is not a PEM private key: ${String(error)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new WasmosError(
      'BAD_KEY',
      `${path} holds a ${String(key.asymmetricKeyType)} key; wasmos keys are Ed25519`,
    );
  }
  return key;
}

export async function readAgentId(workDir: string): Promise<string | undefined> {
  try {
    const parsed = AgentRecord.safeParse(
      JSON.parse(await readFile(join(workDir, 'agent.json'), 'utf8')),
    );
    return parsed.success ? parsed.data.agent_id : undefined;
  } catch {
    return undefined;
  }
}

export async function writeAgentId(workDir: string, agentId: string): Promise<void> {
  await writeFileAtomic(join(workDir, 'agent.json'), JSON.stringify({ agent_id: agentId }));
}

/**
 * The master keys an agent trusts, from a directory of PEM public keys (`*.pub` or `*.pem`):
 * the agent opens events only with these, so every key found is trusted with role `master`.
 */
export async function readMasterKeys(dir: string): Promise<TrustStore> {
  const trust = new TrustStore();
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new WasmosError('BAD_TRUST_DIR', `cannot read trust dir ${dir}: ${String(error)}`);
  }
  for (const name of names) {
    if (!name.endsWith('.pub') && !name.endsWith('.pem')) continue;
    const path = join(dir, name);
    const text = await readFile(path, 'utf8');
    if (text.includes('PRIVATE KEY')) continue; // a key pair's private half: never trust it as a peer
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(text);
    } catch (error) {
      throw new WasmosError('BAD_KEY', `${path} is not a PEM public key: ${String(error)}`);
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') continue;
    trust.add({ publicKey, role: 'master', name: name.replace(/\.(pub|pem)$/, '') });
  }
  if (trust.size === 0)
    throw new WasmosError('NO_MASTER_KEY', `no Ed25519 public key (*.pub) in ${dir}`);
  return trust;
}
