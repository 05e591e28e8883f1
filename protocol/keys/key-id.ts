import { createHash, type KeyObject } from 'node:crypto';
import { assert } from '../../lib/assert.js';

/**
 * A key id names an Ed25519 public key: `wk_` followed by the RFC 4648 base32 (lowercase, no
 * padding) of the first 15 bytes (120 bits) of SHA-256 over the raw 32-byte public key.
 * Example: `wk_3f7kq2m5x4j6w7n2a3b4c5d6`. Stable: the same key always has the same id.
 */
export const KEY_ID_PATTERN = /^wk_[a-z2-7]{24}$/;

const KEY_ID_PREFIX = 'wk_';
const KEY_ID_HASH_BYTES = 15;
const RAW_PUBLIC_KEY_BYTES = 32;
const SPKI_ED25519_PREFIX_BYTES = 12;

export function isKeyId(value: string): boolean {
  return KEY_ID_PATTERN.test(value);
}

/** The raw 32-byte Ed25519 public key (the tail of its SPKI DER encoding). */
export function rawPublicKey(publicKey: KeyObject): Uint8Array {
  assert(publicKey.type === 'public', 'rawPublicKey needs a public key');
  assert(publicKey.asymmetricKeyType === 'ed25519', 'key ids are defined for Ed25519 keys');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  assert(
    der.length === SPKI_ED25519_PREFIX_BYTES + RAW_PUBLIC_KEY_BYTES,
    'Ed25519 SPKI is 44 bytes',
  );
  return der.subarray(SPKI_ED25519_PREFIX_BYTES);
}

export function keyIdOf(publicKey: KeyObject): string {
  const digest = createHash('sha256').update(rawPublicKey(publicKey)).digest();
  const keyId = KEY_ID_PREFIX + base32(digest.subarray(0, KEY_ID_HASH_BYTES));
  assert(isKeyId(keyId), 'a derived key id matches the key id pattern');
  return keyId;
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  assert(bytes.length % 5 === 0, 'base32 without padding needs whole 5-byte groups');
  let text = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += BASE32_ALPHABET[(buffer >> bits) & 31];
    }
  }
  return text;
}
