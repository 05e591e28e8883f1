import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { WasmosError } from '../../lib/errors.js';
import { err, ok, type Result } from '../../lib/result.js';
import { loadPrivateKey, loadTrustStore } from '../../protocol/keys/files.js';
import { generateIdentity, type Identity } from '../../protocol/keys/identity.js';
import { TrustStore } from '../../protocol/keys/trust.js';
import { writeFileAtomic } from './atomic.js';

/**
 * The agent's identity in its work dir: its Ed25519 key (`agent.key`, PKCS#8 PEM, mode 0600,
 * generated on first start unless `--key` names one) and the agent id the master gave it
 * (`agent.json`, written atomically when it registers).
 */
const AgentRecord = z.strictObject({ agent_id: z.string().min(1).max(256) });

export async function loadOrCreateKey(path: string): Promise<Identity> {
  const loaded = await loadPrivateKey(path);
  if (loaded.ok) return loaded.value;
  if (loaded.error.code !== 'KEY_NOT_FOUND')
    throw new WasmosError(loaded.error.code, loaded.error.message);
  const identity = generateIdentity();
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(
    path,
    identity.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  );
  return identity;
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
 * The master keys an agent trusts, from a trust directory in the `wasmos keygen` format
 * (protocol/keys/files.ts). Only keys with role `master` are kept: an agent opens events only.
 */
export async function readMasterKeys(dir: string): Promise<TrustStore> {
  const loaded = await loadTrustStore(dir);
  if (!loaded.ok) throw new WasmosError(loaded.error.code, loaded.error.message);
  const masters = selectMasterKeys(loaded.value, dir);
  if (!masters.ok) throw new WasmosError('NO_MASTER_KEY', masters.error);
  return masters.value;
}

/** The `master` keys of a loaded trust directory; none at all is refused. */
export function selectMasterKeys(loaded: TrustStore, dir: string): Result<TrustStore, string> {
  const masters = new TrustStore(loaded.list().filter((key) => key.role === 'master'));
  return masters.size > 0 ? ok(masters) : err(`no key with role master in ${dir}`);
}
