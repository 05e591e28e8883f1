/**
 * Which cgroup version this host runs, learned from /proc/self/mountinfo (never from hard-coded
 * paths: hierarchies may be co-mounted, e.g. `cpu,cpuacct`, or mounted elsewhere). Pure.
 */

export interface CgroupMount {
  readonly mountPoint: string;
  readonly fsType: 'cgroup' | 'cgroup2';
  /** v1: the controllers of this hierarchy (from the super options); v2: empty. */
  readonly controllers: readonly string[];
  readonly readOnly: boolean;
}

/** The v1 controllers the containerizer uses; freezer makes kill atomic. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];
/** The v2 controllers it enables down to each task's cgroup. */
export const V2_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
export type V2Controller = (typeof V2_CONTROLLERS)[number];

export type CgroupLayout =
  | {
      readonly version: 'v1';
      /** Mount point of the hierarchy that carries each controller. */
      readonly hierarchies: Readonly<Partial<Record<V1Controller, string>>>;
    }
  | { readonly version: 'v2'; readonly mountPoint: string };

// mountinfo escapes space, tab, newline and backslash as octal.
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_match, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

function parseLine(line: string): CgroupMount | undefined {
  const separator = line.indexOf(' - ');
  if (separator < 0) return undefined;
  const before = line.slice(0, separator).split(' ');
  const after = line.slice(separator + 3).split(' ');
  const fsType = after[0];
  if (fsType !== 'cgroup' && fsType !== 'cgroup2') return undefined;
  const mountPoint = before[4];
  const mountOptions = before[5];
  if (mountPoint === undefined || mountOptions === undefined) return undefined;
  const superOptions = (after[2] ?? '').split(',');
  const controllers =
    fsType === 'cgroup'
      ? superOptions.filter(
          (option) => /^[a-z_]+$/.test(option) && !NON_CONTROLLER_OPTIONS.has(option),
        )
      : [];
  return {
    mountPoint: unescapeMountPath(mountPoint),
    fsType,
    controllers,
    readOnly: mountOptions.split(',').includes('ro'),
  };
}

const NON_CONTROLLER_OPTIONS = new Set([
  'rw',
  'ro',
  'noprefix',
  'xattr',
  'clone_children',
  'cpuset_v2_mode',
  'nsdelegate',
  'memory_recursiveprot',
  'memory_localevents',
  'favordynmods',
]);

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const mount = parseLine(line);
    if (mount) mounts.push(mount);
  }
  return mounts;
}

/**
 * v1 when any v1 hierarchy carries the memory controller (a "hybrid" host keeps its controllers
 * on v1 and an empty cgroup2 mount beside them, as this project's CI machine does); otherwise v2
 * when a cgroup2 mount exists; undefined when neither.
 */
export function chooseCgroupLayout(mounts: readonly CgroupMount[]): CgroupLayout | undefined {
  const v1 = mounts.filter((mount) => mount.fsType === 'cgroup');
  if (v1.some((mount) => mount.controllers.includes('memory'))) {
    const hierarchies: Partial<Record<V1Controller, string>> = {};
    for (const controller of V1_CONTROLLERS) {
      const mount = v1.find((candidate) => candidate.controllers.includes(controller));
      if (mount && !mount.readOnly) hierarchies[controller] = mount.mountPoint;
    }
    return { version: 'v1', hierarchies };
  }
  const unified = mounts.find((mount) => mount.fsType === 'cgroup2' && !mount.readOnly);
  return unified ? { version: 'v2', mountPoint: unified.mountPoint } : undefined;
}
