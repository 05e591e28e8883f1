/** Picks the backend for this host's cgroup layout. */
import type { CgroupBackend } from './backend.js';
import type { CgroupFs } from './fs.js';
import type { CgroupLayout } from './mountinfo.js';
import type { Subsystem } from './subsystem.js';
import { createV1Backend } from './v1.js';
import { createV2Backend } from './v2.js';

export function createCgroupBackend(
  fs: CgroupFs,
  layout: CgroupLayout,
  subsystems: readonly Subsystem[],
): CgroupBackend {
  return layout.version === 'v1'
    ? createV1Backend(fs, layout.hierarchies, subsystems)
    : createV2Backend(fs, layout.mountPoint, subsystems);
}
