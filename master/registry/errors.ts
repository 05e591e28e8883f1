import { WasmosError } from '../../lib/errors.js';

/**
 * The stored registry cannot be trusted (bad checksum, truncated, unknown format). Never
 * treated as "empty": a master that started over would forget admitted agents and frameworks.
 */
export class RegistryCorruptError extends WasmosError {
  constructor(
    message: string,
    readonly location: string,
  ) {
    super('registry_corrupt', message, { location });
  }
}

/** The store could not be reached (disk error, ZooKeeper down) while loading. */
export class RegistryUnavailableError extends WasmosError {
  constructor(message: string) {
    super('registry_unavailable', message);
  }
}
