/**
 * One interface over cgroup v1 and v2: create a container's cgroup with its limits, say where a
 * process writes its pid to join it, read usage, kill everything in it, remove it. The
 * version-specific parts (directories, enabling controllers, freezing) live in v1.ts and v2.ts;
 * what a controller limits and reports lives in subsystems/.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WasmosError } from '../../../../lib/errors.js';
import { killRoundsMax, rmdirAttemptsMax, rmdirRetryMs } from '../limits.js';
import type { CgroupFs } from './fs.js';
import type { V1Controller } from './mountinfo.js';
import { parsePids } from './stats.js';
import type { CgroupLimits, CgroupUsage, CgroupView } from './subsystem.js';

/** Where one container's cgroup lives; plain data, kept in the agent's checkpoint. */
export type CgroupPaths =
  | { readonly version: 'v1'; readonly dirs: Readonly<Partial<Record<V1Controller, string>>> }
  | { readonly version: 'v2'; readonly dir: string };

export interface CgroupBackend {
  readonly version: 'v1' | 'v2';
  /** `name` is the cgroup's path below each hierarchy's root, e.g. `wasmos/agent-1/c-42`. */
  pathsFor(name: string): CgroupPaths;
  /** Makes the cgroup (and its ancestors) and writes every subsystem's limits. */
  create(paths: CgroupPaths, limits: CgroupLimits): Promise<void>;
  /** The files a process writes its own pid to in order to join (one per hierarchy). */
  procsFiles(paths: CgroupPaths): string[];
  pids(paths: CgroupPaths): Promise<number[]>;
  usage(paths: CgroupPaths): Promise<CgroupUsage>;
  /** Sends `signal` to every process in the cgroup; returns how many were signalled. */
  signalAll(paths: CgroupPaths, signal: NodeJS.Signals): Promise<number>;
  /** SIGKILLs everything in the cgroup, so that nothing can fork away meanwhile; resolves empty. */
  killAll(paths: CgroupPaths): Promise<void>;
  /** killAll, then removes the container's cgroup; fine if it is already gone. */
  destroy(paths: CgroupPaths): Promise<void>;
  /** Removes an ancestor cgroup (e.g. `wasmos/agent-1`) if nothing is left in it. */
  removeIfEmpty(name: string): Promise<void>;
}

/** What differs between v1 and v2. */
export interface VersionOps {
  readonly version: 'v1' | 'v2';
  pathsFor(name: string): CgroupPaths;
  /** Every directory of this container's cgroup (one per hierarchy on v1), deduplicated. */
  dirs(paths: CgroupPaths): string[];
  /** Directories for an ancestor `name`, for removal. */
  ancestorDirs(name: string): string[];
  view(paths: CgroupPaths): CgroupView;
  ensureTree(paths: CgroupPaths): Promise<void>;
  /** Kills everything at once if the kernel can (v2 cgroup.kill); false when it cannot. */
  killAtOnce(paths: CgroupPaths): Promise<boolean>;
  freeze(paths: CgroupPaths): Promise<boolean>;
  thaw(paths: CgroupPaths): Promise<void>;
}

export interface SubsystemSet {
  prepare(view: CgroupView, limits: CgroupLimits): Promise<void>;
  usage(view: CgroupView): Promise<CgroupUsage>;
}

function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // ESRCH: it exited meanwhile
  }
}

async function rmdirWithRetry(fs: CgroupFs, dir: string): Promise<void> {
  for (let attempt = 0; attempt < rmdirAttemptsMax; attempt++) {
    if ((await fs.rmdir(dir)) !== 'busy') return;
    await sleep(rmdirRetryMs);
  }
  throw new WasmosError('cgroup_busy', `cgroup ${dir} could not be removed: still busy`);
}

export function makeBackend(
  fs: CgroupFs,
  ops: VersionOps,
  subsystems: SubsystemSet,
): CgroupBackend {
  const killRound = async (paths: CgroupPaths): Promise<void> => {
    if (await ops.killAtOnce(paths)) return;
    await ops.freeze(paths);
    try {
      for (const pid of await backend.pids(paths)) signalPid(pid, 'SIGKILL');
    } finally {
      await ops.thaw(paths);
    }
  };
  const anyDirLeft = async (paths: CgroupPaths): Promise<boolean> => {
    for (const dir of ops.dirs(paths)) if (await fs.exists(dir)) return true;
    return false;
  };
  const backend: CgroupBackend = {
    version: ops.version,
    pathsFor: (name) => ops.pathsFor(name),
    async create(paths, limits) {
      await ops.ensureTree(paths);
      await subsystems.prepare(ops.view(paths), limits);
    },
    procsFiles: (paths) => ops.dirs(paths).map((dir) => `${dir}/cgroup.procs`),
    async pids(paths) {
      const found = new Set<number>();
      for (const dir of ops.dirs(paths)) {
        for (const pid of parsePids((await fs.read(`${dir}/cgroup.procs`)) ?? '')) found.add(pid);
      }
      return [...found];
    },
    usage: (paths) => subsystems.usage(ops.view(paths)),
    async signalAll(paths, signal) {
      const pids = await backend.pids(paths);
      return pids.filter((pid) => signalPid(pid, signal)).length;
    },
    async killAll(paths) {
      for (let round = 0; round < killRoundsMax; round++) {
        if ((await backend.pids(paths)).length === 0) return;
        try {
          await killRound(paths);
        } catch (error) {
          // The supervisor may remove the cgroup the moment its task is gone.
          if (!(await anyDirLeft(paths))) return;
          throw error;
        }
        await sleep(rmdirRetryMs);
      }
      if ((await backend.pids(paths)).length === 0) return;
      throw new WasmosError(
        'cgroup_not_empty',
        `processes survived ${killRoundsMax} rounds of SIGKILL in ${ops.dirs(paths).join(', ')}`,
      );
    },
    async destroy(paths) {
      await backend.killAll(paths);
      for (const dir of ops.dirs(paths)) await rmdirWithRetry(fs, dir);
    },
    async removeIfEmpty(name) {
      for (const dir of ops.ancestorDirs(name)) await fs.rmdir(dir);
    },
  };
  return backend;
}
