import { assert } from '../../lib/assert.js';

/** Limits of the registry stores. Every one is named, defaulted and checked where bytes enter. */
export interface RegistryLimits {
  /** The largest registry either store accepts; a bigger write fails with `too_large`. */
  readonly registryBytesMax: number;
  /** Bytes per ZooKeeper chunk znode: well under ZooKeeper's 1 MiB `jute.maxbuffer`. */
  readonly chunkBytes: number;
  /** A ZooKeeper read retries this often when a concurrent write replaced the chunks it read. */
  readonly readAttemptsMax: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  registryBytesMax: 16 * 1024 * 1024,
  chunkBytes: 512 * 1024,
  readAttemptsMax: 5,
};

/** ZooKeeper rejects any znode or request at or above 1 MiB (its default jute.maxbuffer). */
const ZOOKEEPER_PACKET_BYTES_MAX = 1024 * 1024;
/** Room for the request header and path around a chunk's data. */
const ZOOKEEPER_PACKET_OVERHEAD_BYTES = 4096;

export function checkRegistryLimits(limits: RegistryLimits): void {
  assert(limits.registryBytesMax > 0, 'registryBytesMax must be positive');
  assert(limits.chunkBytes > 0, 'chunkBytes must be positive');
  assert(
    limits.chunkBytes <= ZOOKEEPER_PACKET_BYTES_MAX - ZOOKEEPER_PACKET_OVERHEAD_BYTES,
    'chunkBytes must leave room under ZooKeeper packet limit',
  );
  assert(limits.readAttemptsMax >= 1, 'readAttemptsMax must be at least 1');
  assert(limits.registryBytesMax / limits.chunkBytes <= 1000, 'too many chunks for one registry');
}

checkRegistryLimits(DEFAULT_REGISTRY_LIMITS);
