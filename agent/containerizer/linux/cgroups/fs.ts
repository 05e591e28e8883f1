/**
 * The few filesystem verbs the cgroup backends use, behind an interface so their path logic can
 * be tested against an in-memory cgroupfs (test/agent/linux/fake-cgroupfs.ts).
 */
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';

export type RmdirOutcome = 'removed' | 'absent' | 'busy';

export interface CgroupFs {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Writes `value` as one write(2); throws the kernel's refusal (EINVAL, EBUSY, ...). */
  write(path: string, value: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Creates the directory and its parents; fine if it exists. */
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<RmdirOutcome>;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

export const nodeCgroupFs: CgroupFs = {
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      // ENODEV: the cgroup is being removed under us.
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENODEV') return undefined;
      throw error;
    }
  },
  async write(path, value) {
    await writeFile(path, value);
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  },
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async rmdir(path) {
    try {
      await rmdir(path);
      return 'removed';
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return 'absent';
      if (code === 'EBUSY' || code === 'ENOTEMPTY') return 'busy';
      throw error;
    }
  },
};
