import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { assert } from '../../lib/assert.js';
import { streamKey } from '../core/updates.js';

export interface SandboxLimits {
  readonly finishedSandboxesKept: number;
}

const SandboxOwner = z.strictObject({
  framework_id: z.string(),
  task_id: z.string(),
  container_id: z.string(),
});
const OWNER_FILE = 'sandbox.json';
const CONTAINER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The sandboxes under `<workDir>/sandboxes/<containerId>/`: a task's cwd and where its
 * containerizer keeps its logs (`stdout`, `stderr`, rotated: see rotating-log.ts). The
 * sandboxes of finished tasks stay for `wasmos logs`, the newest `finishedSandboxesKept` of them;
 * older ones are removed. Each sandbox names its task in `sandbox.json`, so the index of which
 * task's logs are where is rebuilt after a restart. Per task, the work on the launch path is
 * a mkdir and the owner file; old sandboxes are removed in the background (`settled` waits for
 * that).
 */
export class Sandboxes {
  private readonly byTask = new Map<string, string>();
  /** The task key of each sandbox in `byTask`, so collecting one needs no search. */
  private readonly owners = new Map<string, string>();
  /** Finished sandboxes, oldest first. */
  private finishedOrder: string[] = [];
  private readonly active = new Set<string>();
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly root: string,
    private readonly limits: SandboxLimits,
  ) {
    mkdirSync(root, { recursive: true });
    this.indexDisk();
  }

  /** Creates the sandbox of a new container; returns its directory. */
  create(frameworkId: string, taskId: string, containerId: string): string {
    assert(CONTAINER_ID_PATTERN.test(containerId), 'container ids are safe file names');
    const dir = join(this.root, containerId);
    mkdirSync(dir, { mode: 0o700 });
    const owner = { framework_id: frameworkId, task_id: taskId, container_id: containerId };
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
    this.index(streamKey(frameworkId, taskId), dir);
    this.active.add(dir);
    return dir;
  }

  /** Marks an existing sandbox active again (its container was re-attached after a restart). */
  reopen(frameworkId: string, taskId: string, dir: string): void {
    this.index(streamKey(frameworkId, taskId), dir);
    this.active.add(dir);
    this.finishedOrder = this.finishedOrder.filter((each) => each !== dir);
  }

  /** The task ended: its sandbox joins the finished ones (the oldest beyond the bound go). */
  finish(dir: string): void {
    if (!this.active.delete(dir)) return;
    this.finishedOrder.push(dir);
    this.collect();
  }

  /** Where a task's logs are, if its sandbox still exists. */
  find(frameworkId: string, taskId: string): string | undefined {
    return this.byTask.get(streamKey(frameworkId, taskId));
  }

  isActive(dir: string): boolean {
    return this.active.has(dir);
  }

  private collect(): void {
    while (this.finishedOrder.length > this.limits.finishedSandboxesKept) {
      const dir = this.finishedOrder.shift()!;
      assert(!this.active.has(dir), 'an active sandbox is never collected');
      this.inBackground(rm(dir, { recursive: true, force: true }));
      const owner = this.owners.get(dir);
      this.owners.delete(dir);
      if (owner !== undefined && this.byTask.get(owner) === dir) this.byTask.delete(owner);
    }
  }

  private index(key: string, dir: string): void {
    this.byTask.set(key, dir);
    this.owners.set(dir, key);
  }

  /** Resolves once the removals started so far are done. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Failures are left alone: a leftover sandbox is indexed and collected after a restart. */
  private inBackground(work: Promise<void>): void {
    const tracked = work.catch(() => undefined);
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** At start-up every sandbox on disk counts as finished until the agent re-attaches it. */
  private indexDisk(): void {
    const found: Array<{ dir: string; mtimeMs: number }> = [];
    for (const name of readdirSync(this.root)) {
      const dir = join(this.root, name);
      const owner = readOwner(dir);
      if (!owner) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      this.index(streamKey(owner.framework_id, owner.task_id), dir);
      found.push({ dir, mtimeMs: statSync(dir).mtimeMs });
    }
    // Not collected here: a container the agent is about to re-attach may own an old one.
    this.finishedOrder = found
      .sort((left, right) => left.mtimeMs - right.mtimeMs)
      .map((each) => each.dir);
  }
}

function readOwner(dir: string): z.infer<typeof SandboxOwner> | undefined {
  try {
    const parsed = SandboxOwner.safeParse(JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
