/**
 * cgroup v2: one directory `<mount>/<name>`. Each ancestor enables the subsystems' controllers
 * for its children in cgroup.subtree_control (only those its cgroup.controllers offers: a
 * controller the host does not delegate is skipped, and capabilities() says so). Killing uses
 * cgroup.kill (Linux 5.14+) or else cgroup.freeze, then SIGKILL, then thaw.
 */
import { join, relative, sep } from 'node:path';
import { assert } from '../../../../lib/assert.js';
import type { CgroupBackend, CgroupPaths, VersionOps } from './backend.js';
import { makeBackend } from './backend.js';
import type { CgroupFs } from './fs.js';
import type { CgroupView, Subsystem } from './subsystem.js';
import { freezeV2, thawV2 } from './subsystems/freezer.js';
import { combineSubsystems } from './subsystems/index.js';

function v2Dir(paths: CgroupPaths): string {
  assert(paths.version === 'v2', 'v2 backend given v1 paths');
  return paths.dir;
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((word) => word.length > 0);
}

/** Enables `wanted` controllers (where offered) for the children of `dir`. */
async function enableControllers(fs: CgroupFs, dir: string, wanted: readonly string[]) {
  const offered = words(await fs.read(`${dir}/cgroup.controllers`));
  const enabled = words(await fs.read(`${dir}/cgroup.subtree_control`));
  const toEnable = wanted.filter((c) => offered.includes(c) && !enabled.includes(c));
  if (toEnable.length > 0) {
    await fs.write(`${dir}/cgroup.subtree_control`, toEnable.map((c) => `+${c}`).join(' '));
  }
}

export function createV2Backend(
  fs: CgroupFs,
  mountPoint: string,
  subsystems: readonly Subsystem[],
): CgroupBackend {
  const wanted = subsystems.map((subsystem) => subsystem.v2Controller);
  const view = (paths: CgroupPaths): CgroupView => {
    const dir = v2Dir(paths);
    return {
      version: 'v2',
      read: (_controller, file) => fs.read(`${dir}/${file}`),
      write: (_controller, file, value) => fs.write(`${dir}/${file}`, value),
    };
  };
  const ops: VersionOps = {
    version: 'v2',
    pathsFor: (name) => ({ version: 'v2', dir: join(mountPoint, name) }),
    dirs: (paths) => [v2Dir(paths)],
    ancestorDirs: (name) => [join(mountPoint, name)],
    view,
    async ensureTree(paths) {
      const leaf = v2Dir(paths);
      const below = relative(mountPoint, leaf).split(sep);
      assert(below.length > 0 && below[0] !== '..', 'the cgroup lies under the mount point');
      let dir = mountPoint;
      for (const component of below) {
        await enableControllers(fs, dir, wanted);
        dir = join(dir, component);
        await fs.mkdir(dir);
      }
    },
    async killAtOnce(paths) {
      const file = `${v2Dir(paths)}/cgroup.kill`;
      if (!(await fs.exists(file))) return false;
      await fs.write(file, '1');
      return true;
    },
    freeze: (paths) => freezeV2(fs, v2Dir(paths)),
    thaw: (paths) => thawV2(fs, v2Dir(paths)),
  };
  return makeBackend(fs, ops, combineSubsystems(subsystems));
}
