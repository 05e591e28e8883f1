import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { assert } from '../../lib/assert.js';
import { keyIdOf } from './key-id.js';

/** A keypair ready to sign with: keys pre-parsed once (parsing per call is ~10x slower). */
export interface Identity {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateIdentity(): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

export function identityFromPrivateKey(privateKey: KeyObject): Identity {
  assert(privateKey.type === 'private', 'an identity needs a private key');
  assert(privateKey.asymmetricKeyType === 'ed25519', 'wasmos keys are Ed25519');
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}
