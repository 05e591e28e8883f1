import type { Result } from '../../lib/result.js';

/**
 * Where the master's durable registry lives: a local file (single master) or
 * ZooKeeper (HA). The store only moves bytes with compare-and-set; the master
 * decides what the bytes mean (a CBOR-encoded registry).
 *
 * Every write names the version it replaces, so a deposed leader's late write
 * fails with `conflict` instead of overwriting its successor's state.
 */
export type RegistryVersion = string;

export interface StoredRegistry {
  readonly bytes: Uint8Array;
  readonly version: RegistryVersion;
  /**
   * Changes appended after `bytes` (stores with `append` only), oldest first: the registry is
   * `bytes` with each applied in order. Absent or empty: `bytes` is the whole registry.
   */
  readonly changes?: readonly Uint8Array[];
}

export type RegistryWriteError =
  | { readonly code: 'conflict'; readonly message: string }
  | {
      readonly code: 'too_large';
      readonly message: string;
      readonly bytes: number;
      readonly bytesMax: number;
    }
  | { readonly code: 'unavailable'; readonly message: string };

export interface RegistryStore {
  /** The latest durable registry, or undefined if none was ever written. */
  load(): Promise<StoredRegistry | undefined>;
  /**
   * Durably writes `bytes` if the stored version is still `expected`
   * (undefined: nothing stored yet). Resolves only after the write is durable.
   */
  store(
    bytes: Uint8Array,
    expected: RegistryVersion | undefined,
  ): Promise<Result<RegistryVersion, RegistryWriteError>>;
  /**
   * Optional (the file store has it, ZooKeeper does not): durably appends one change record
   * after the stored registry, with the same compare-and-set as `store`. Cheaper than `store`
   * for a large registry with a small change; the master decides what a change means and when
   * to write the whole registry again (`store` drops every appended change).
   */
  append?(
    change: Uint8Array,
    expected: RegistryVersion,
  ): Promise<Result<RegistryVersion, RegistryWriteError>>;
  close(): Promise<void>;
}
