import type { KeyObject } from 'node:crypto';
import { assert } from '../../lib/assert.js';
import { keyIdOf } from './key-id.js';
import type { Role } from './roles.js';

export interface TrustedKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly role: Role;
  /** A human name (the key file's name), for logs and `wasmos keys list`. */
  readonly name: string;
}

/**
 * Key id → public key, role and name. Built from a directory of `.pub` files (see files.ts), or
 * in memory (tests, dev mode); the master adds agent keys at run time when it admits them.
 */
export class TrustStore {
  private keys = new Map<string, TrustedKey>();

  constructor(entries: Iterable<Omit<TrustedKey, 'keyId'>> = []) {
    for (const entry of entries) this.add(entry);
  }

  /** Adds (or replaces the role and name of) a key; returns the stored entry with its id. */
  add(entry: Omit<TrustedKey, 'keyId'>): TrustedKey {
    assert(entry.publicKey.type === 'public', 'a trust store holds public keys');
    assert(entry.publicKey.asymmetricKeyType === 'ed25519', 'a trust store holds Ed25519 keys');
    const trusted: TrustedKey = {
      keyId: keyIdOf(entry.publicKey),
      publicKey: entry.publicKey,
      role: entry.role,
      name: entry.name,
    };
    this.keys.set(trusted.keyId, trusted);
    return trusted;
  }

  /**
   * Takes every key of `next` in place of its own, in one assignment: whoever holds this store
   * sees either all the old keys or all the new ones, never a mix (see trust-reload.ts).
   */
  replaceWith(next: TrustStore): void {
    this.keys = new Map(next.keys);
  }

  get(keyId: string): TrustedKey | undefined {
    return this.keys.get(keyId);
  }

  remove(keyId: string): boolean {
    return this.keys.delete(keyId);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Entries sorted by role, then name, then key id (a stable order for listings). */
  list(): TrustedKey[] {
    return [...this.keys.values()].sort(
      (left, right) =>
        left.role.localeCompare(right.role) ||
        left.name.localeCompare(right.name) ||
        left.keyId.localeCompare(right.keyId),
    );
  }
}
