/**
 * cgroup v1: one directory per hierarchy (cpu, cpuacct, memory, pids, freezer; co-mounted
 * hierarchies share one), `<mount>/<name>` in each. Killing freezes through the freezer hierarchy.
 */
import { join } from 'node:path';
import { assert } from '../../../../lib/assert.js';
import { WasmosError } from '../../../../lib/errors.js';
import type { CgroupBackend, CgroupPaths, VersionOps } from './backend.js';
import { makeBackend } from './backend.js';
import type { CgroupFs } from './fs.js';
import type { V1Controller } from './mountinfo.js';
import type { CgroupView, Subsystem } from './subsystem.js';
import { freezeV1, thawV1 } from './subsystems/freezer.js';
import { combineSubsystems } from './subsystems/index.js';

type Hierarchies = Readonly<Partial<Record<V1Controller, string>>>;

function v1Paths(paths: CgroupPaths): Hierarchies {
  assert(paths.version === 'v1', 'v1 backend given v2 paths');
  return paths.dirs;
}

function uniqueDirs(dirs: Hierarchies): string[] {
  return [...new Set(Object.values(dirs).filter((dir): dir is string => dir !== undefined))];
}

export function createV1Backend(
  fs: CgroupFs,
  hierarchies: Hierarchies,
  subsystems: readonly Subsystem[],
): CgroupBackend {
  const controllers = new Set<V1Controller>(['freezer']);
  for (const subsystem of subsystems) subsystem.v1Controllers.forEach((c) => controllers.add(c));
  const missing = [...controllers].filter((controller) => hierarchies[controller] === undefined);
  if (missing.length > 0) {
    throw new WasmosError(
      'cgroup_controller_missing',
      `no writable cgroup v1 hierarchy for: ${missing.join(', ')}`,
    );
  }
  const dirsFor = (name: string): Partial<Record<V1Controller, string>> => {
    const dirs: Partial<Record<V1Controller, string>> = {};
    for (const controller of controllers) dirs[controller] = join(hierarchies[controller]!, name);
    return dirs;
  };
  const view = (paths: CgroupPaths): CgroupView => {
    const dirs = v1Paths(paths);
    const fileOf = (controller: V1Controller, file: string): string | undefined => {
      const dir = dirs[controller];
      return dir === undefined ? undefined : `${dir}/${file}`;
    };
    return {
      version: 'v1',
      read: async (controller, file) => {
        const path = fileOf(controller, file);
        return path === undefined ? undefined : fs.read(path);
      },
      write: async (controller, file, value) => {
        const path = fileOf(controller, file);
        if (path === undefined) {
          throw new WasmosError('cgroup_controller_missing', `no ${controller} hierarchy`);
        }
        await fs.write(path, value);
      },
    };
  };
  const ops: VersionOps = {
    version: 'v1',
    pathsFor: (name) => ({ version: 'v1', dirs: dirsFor(name) }),
    dirs: (paths) => uniqueDirs(v1Paths(paths)),
    ancestorDirs: (name) => uniqueDirs(dirsFor(name)),
    view,
    async ensureTree(paths) {
      for (const dir of uniqueDirs(v1Paths(paths))) await fs.mkdir(dir);
    },
    killAtOnce: async () => false,
    async freeze(paths) {
      const freezer = v1Paths(paths).freezer;
      return freezer === undefined ? false : freezeV1(fs, freezer);
    },
    async thaw(paths) {
      const freezer = v1Paths(paths).freezer;
      if (freezer !== undefined) await thawV1(fs, freezer);
    },
  };
  return makeBackend(fs, ops, combineSubsystems(subsystems));
}
