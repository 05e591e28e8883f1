/** The guest's file descriptors: stdio, preopened and opened directories, open files. */
import { closeSync } from 'node:fs';
import { assert } from '../../lib/assert.js';
import { Errno, WasiError } from './errno.js';
import type { DirHandle } from './paths.js';

/** Open descriptors of one task, stdio and preopens included. */
export const OPEN_FDS_MAX = 1024;

export type FdEntry =
  | { readonly kind: 'stdin' }
  | { readonly kind: 'stdout' }
  | { readonly kind: 'stderr' }
  | {
      readonly kind: 'dir';
      readonly dir: DirHandle;
      /** Set for preopens: the name fd_prestat_dir_name reports. */
      readonly preopenName: string | undefined;
      /** fd_readdir's listing, taken when a read starts at cookie 0. */
      listing: string[] | undefined;
    }
  | {
      readonly kind: 'file';
      readonly hostFd: number;
      readonly hostPath: string;
      readonly readable: boolean;
      readonly writable: boolean;
      append: boolean;
      position: number;
    };

export class FdTable {
  private readonly entries = new Map<number, FdEntry>();

  constructor() {
    this.entries.set(0, { kind: 'stdin' });
    this.entries.set(1, { kind: 'stdout' });
    this.entries.set(2, { kind: 'stderr' });
  }

  get(fd: number): FdEntry {
    const entry = this.entries.get(fd);
    if (entry === undefined) throw new WasiError(Errno.BADF);
    return entry;
  }

  has(fd: number): boolean {
    return this.entries.has(fd);
  }

  dir(fd: number): Extract<FdEntry, { kind: 'dir' }> {
    const entry = this.get(fd);
    if (entry.kind !== 'dir') throw new WasiError(Errno.NOTDIR);
    return entry;
  }

  /** The lowest free descriptor, as POSIX hands them out. */
  add(entry: FdEntry): number {
    if (this.entries.size >= OPEN_FDS_MAX) throw new WasiError(Errno.MFILE);
    let fd = 3;
    while (this.entries.has(fd)) fd++;
    this.entries.set(fd, entry);
    return fd;
  }

  close(fd: number): void {
    const entry = this.get(fd);
    this.entries.delete(fd);
    if (entry.kind === 'file') closeSync(entry.hostFd);
  }

  renumber(from: number, to: number): void {
    const entry = this.get(from);
    this.get(to);
    if (from === to) return;
    this.close(to);
    this.entries.delete(from);
    this.entries.set(to, entry);
  }

  /** Closes every host descriptor; the table is unusable afterwards. */
  closeAll(): void {
    for (const fd of [...this.entries.keys()]) {
      try {
        this.close(fd);
      } catch {
        // A descriptor that fails to close is gone all the same.
      }
    }
    assert(this.entries.size === 0, 'fd table empty after closeAll');
  }
}
