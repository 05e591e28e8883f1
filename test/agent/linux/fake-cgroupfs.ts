/**
 * An in-memory cgroup v2 filesystem that behaves like the kernel where our backend depends on
 * it: a new cgroup gets the core files plus those of the controllers its parent enabled; a
 * controller can be enabled only where offered; a cgroup with children or processes cannot be
 * removed; cgroup.kill and cgroup.freeze act on the (real, test-owned) processes listed.
 */
import type { CgroupFs, RmdirOutcome } from '../../../agent/containerizer/linux/cgroups/fs.js';

const CONTROLLER_FILES: Record<string, Record<string, string>> = {
  cpu: { 'cpu.max': 'max 100000', 'cpu.weight': '100' },
  memory: {
    'memory.max': 'max',
    'memory.current': '0',
    'memory.peak': '0',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n',
    'memory.swap.max': 'max',
  },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
};

export class FakeCgroupFs implements CgroupFs {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  readonly writes: Array<[string, string]> = [];

  constructor(
    readonly mountPoint: string,
    offered: readonly string[],
    private readonly options: { cgroupKill: boolean; memoryPeak: boolean },
  ) {
    this.dirs.add(mountPoint);
    this.files.set(`${mountPoint}/cgroup.controllers`, offered.join(' '));
    this.files.set(`${mountPoint}/cgroup.subtree_control`, '');
    this.files.set(`${mountPoint}/cgroup.procs`, '');
  }

  async read(path: string) {
    if (path.endsWith('/cgroup.procs')) this.dropExited(path);
    return this.files.get(path);
  }

  async write(path: string, value: string) {
    const current = this.files.get(path);
    if (current === undefined)
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    this.writes.push([path, value]);
    const dir = path.slice(0, path.lastIndexOf('/'));
    const file = path.slice(path.lastIndexOf('/') + 1);
    if (file === 'cgroup.subtree_control') return this.enable(dir, value);
    if (file === 'cgroup.kill') return this.killAll(dir);
    if (file === 'cgroup.freeze')
      this.files.set(`${dir}/cgroup.events`, `populated 1\nfrozen ${value}\n`);
    if (file === 'cgroup.procs') return this.files.set(path, `${current}${value}\n`) && undefined;
    this.files.set(path, value);
  }

  async exists(path: string) {
    return this.dirs.has(path) || this.files.has(path);
  }

  async mkdir(path: string) {
    if (this.dirs.has(path)) return;
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (!this.dirs.has(parent))
      throw Object.assign(new Error(`ENOENT: ${parent}`), { code: 'ENOENT' });
    this.dirs.add(path);
    const enabled = (this.files.get(`${parent}/cgroup.subtree_control`) ?? '')
      .split(' ')
      .filter(Boolean);
    const core: Record<string, string> = {
      'cgroup.controllers': enabled.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cgroup.events': 'populated 0\nfrozen 0\n',
      'cgroup.freeze': '0',
      'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
    };
    if (this.options.cgroupKill) core['cgroup.kill'] = '';
    for (const [file, value] of Object.entries(core)) this.files.set(`${path}/${file}`, value);
    for (const controller of enabled) {
      for (const [file, value] of Object.entries(CONTROLLER_FILES[controller] ?? {})) {
        if (file === 'memory.peak' && !this.options.memoryPeak) continue;
        this.files.set(`${path}/${file}`, value);
      }
    }
  }

  async rmdir(path: string): Promise<RmdirOutcome> {
    if (!this.dirs.has(path)) return 'absent';
    const hasChild = [...this.dirs].some((dir) => dir.startsWith(`${path}/`));
    this.dropExited(`${path}/cgroup.procs`);
    if (hasChild || (this.files.get(`${path}/cgroup.procs`) ?? '') !== '') return 'busy';
    this.dirs.delete(path);
    for (const file of [...this.files.keys()])
      if (file.startsWith(`${path}/`)) this.files.delete(file);
    return 'removed';
  }

  private enable(dir: string, value: string): void {
    const offered = (this.files.get(`${dir}/cgroup.controllers`) ?? '').split(' ');
    const enabled = new Set(
      (this.files.get(`${dir}/cgroup.subtree_control`) ?? '').split(' ').filter(Boolean),
    );
    for (const word of value.split(' ')) {
      const controller = word.slice(1);
      if (!word.startsWith('+') || !offered.includes(controller)) {
        throw Object.assign(new Error(`EINVAL: ${word}`), { code: 'EINVAL' });
      }
      enabled.add(controller);
    }
    this.files.set(`${dir}/cgroup.subtree_control`, [...enabled].join(' '));
  }

  private killAll(dir: string): void {
    for (const pid of (this.files.get(`${dir}/cgroup.procs`) ?? '').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** The kernel lists only live processes. */
  private dropExited(procsPath: string): void {
    const listed = this.files.get(procsPath);
    if (!listed) return;
    const alive = listed.split('\n').filter((pid) => pid !== '' && isLive(Number(pid)));
    this.files.set(procsPath, alive.map((pid) => `${pid}\n`).join(''));
  }
}

function isLive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
