import { WasmosError } from '../../../lib/errors.js';
import { containerIdLengthMax } from './limits.js';

// A container id names a directory and a cgroup: no slashes, no dot-files, nothing a shell or
// the cgroup filesystem would read specially.
const CONTAINER_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function checkContainerId(containerId: string): void {
  if (containerId.length === 0 || containerId.length > containerIdLengthMax) {
    throw new WasmosError(
      'invalid_container_id',
      `container id must be 1..${containerIdLengthMax} characters (got ${containerId.length})`,
    );
  }
  if (!CONTAINER_ID_PATTERN.test(containerId)) {
    throw new WasmosError(
      'invalid_container_id',
      `container id "${containerId}" may hold only letters, digits, '_', '.', '-' and must not start with '.' or '-'`,
    );
  }
}
