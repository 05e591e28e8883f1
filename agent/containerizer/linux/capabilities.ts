/**
 * Can this host isolate Linux tasks? The agent offers the `linux` runtime only when it can, and
 * otherwise logs (and shows in `wasmos agents`) exactly why not.
 */
import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CgroupFs } from './cgroups/fs.js';
import { nodeCgroupFs } from './cgroups/fs.js';
import {
  chooseCgroupLayout,
  parseCgroupMounts,
  V1_CONTROLLERS,
  V2_CONTROLLERS,
  type CgroupLayout,
} from './cgroups/mountinfo.js';
import type { LaunchTools } from './namespaces/launch.js';
import { namespaceFlags } from './namespaces/launch.js';

export type Capabilities =
  | { readonly ok: true; readonly layout: CgroupLayout; readonly tools: LaunchTools }
  | { readonly ok: false; readonly reasons: readonly string[] };

export interface CapabilityProbe {
  readonly uid?: number;
  readonly mountinfoPath?: string;
  readonly fs?: CgroupFs;
  /** Where the containerizer makes its cgroups, below each hierarchy's root. */
  readonly cgroupRoot?: string;
  readonly searchPath?: readonly string[];
}

const SEARCH_PATH = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];
const NAMESPACE_PROBE_TIMEOUT_MS = 5_000;

async function findExecutable(name: string, searchPath: readonly string[]) {
  for (const dir of searchPath) {
    const path = join(dir, name);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Mount points that must be writable, or the reasons they are not. */
async function cgroupReasons(layout: CgroupLayout, fs: CgroupFs, root: string): Promise<string[]> {
  const reasons: string[] = [];
  const dirs: string[] = [];
  if (layout.version === 'v1') {
    for (const controller of V1_CONTROLLERS) {
      const mount = layout.hierarchies[controller];
      if (mount === undefined)
        reasons.push(`cgroup v1 controller ${controller} is not mounted read-write`);
      else dirs.push(mount);
    }
  } else {
    const offered = ((await fs.read(join(layout.mountPoint, 'cgroup.controllers'))) ?? '').split(
      /\s+/,
    );
    for (const controller of V2_CONTROLLERS) {
      if (!offered.includes(controller)) {
        reasons.push(`cgroup v2 controller ${controller} is not available at ${layout.mountPoint}`);
      }
    }
    dirs.push(layout.mountPoint);
  }
  for (const dir of new Set(dirs)) {
    try {
      await fs.mkdir(join(dir, root));
    } catch (error) {
      reasons.push(`cannot create cgroups under ${dir}: ${(error as Error).message}`);
    }
  }
  return reasons;
}

async function namespaceReason(unsharePath: string): Promise<string | undefined> {
  try {
    await promisify(execFile)(unsharePath, [...namespaceFlags('none'), '/bin/true'], {
      timeout: NAMESPACE_PROBE_TIMEOUT_MS,
      env: {},
    });
    return undefined;
  } catch (error) {
    return `unshare cannot create namespaces here: ${(error as Error).message.trim()}`;
  }
}

export async function linuxCapabilities(probe: CapabilityProbe = {}): Promise<Capabilities> {
  const reasons: string[] = [];
  const uid = probe.uid ?? process.getuid?.() ?? -1;
  if (uid !== 0) reasons.push(`not running as root (uid ${uid})`);
  const searchPath = probe.searchPath ?? SEARCH_PATH;
  const unsharePath = await findExecutable('unshare', searchPath);
  const setprivPath = await findExecutable('setpriv', searchPath);
  const mountPath = await findExecutable('mount', searchPath);
  const envPath = await findExecutable('env', searchPath);
  if (!unsharePath) reasons.push('unshare (util-linux) is not installed');
  if (!setprivPath) reasons.push('setpriv (util-linux) is not installed');
  if (!mountPath) reasons.push('mount (util-linux) is not installed');
  if (!envPath) reasons.push('env (coreutils) is not installed');
  const mountinfo = await readFile(probe.mountinfoPath ?? '/proc/self/mountinfo', 'utf8');
  const layout = chooseCgroupLayout(parseCgroupMounts(mountinfo));
  if (!layout) reasons.push('no cgroup filesystem is mounted');
  if (uid === 0 && layout) {
    reasons.push(
      ...(await cgroupReasons(layout, probe.fs ?? nodeCgroupFs, probe.cgroupRoot ?? 'wasmos')),
    );
  }
  if (uid === 0 && unsharePath) {
    const reason = await namespaceReason(unsharePath);
    if (reason) reasons.push(reason);
  }
  if (reasons.length > 0 || !layout || !unsharePath || !setprivPath || !mountPath || !envPath)
    return { ok: false, reasons };
  const tools = { shPath: '/bin/sh', unsharePath, setprivPath, mountPath, envPath };
  return { ok: true, layout, tools };
}
