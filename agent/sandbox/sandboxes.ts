import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { assert } from '../../lib/assert.js';
import { streamKey } from '../core/updates.js';
import { RotatingLog } from './rotating-log.js';

export interface SandboxLimits {
  readonly logBytesMax: number;
  readonly logRotationsKept: number;
  readonly finishedSandboxesKept: number;
}

export interface Sandbox {
  readonly dir: string;
  readonly stdout: RotatingLog;
  readonly stderr: RotatingLog;
}

const SandboxOwner = z.strictObject({
  framework_id: z.string(),
  task_id: z.string(),
  container_id: z.string(),
});
const OWNER_FILE = 'sandbox.json';
const CONTAINER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The sandboxes under `<workDir>/sandboxes/<containerId>/`: a task's cwd and its logs. The
 * sandboxes of finished tasks stay for `wasmos logs`, the newest `finishedSandboxesKept` of them;
 * older ones are removed. Each sandbox names its task in `sandbox.json`, so the index of which
 * task's logs are where is rebuilt after a restart.
 */
export class Sandboxes {
  private readonly byTask = new Map<string, string>();
  /** Finished sandboxes, oldest first. */
  private finishedOrder: string[] = [];
  private readonly active = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly limits: SandboxLimits,
  ) {
    mkdirSync(root, { recursive: true });
    this.index();
  }

  /** Creates the sandbox of a new container and opens its logs. */
  create(frameworkId: string, taskId: string, containerId: string): Sandbox {
    assert(CONTAINER_ID_PATTERN.test(containerId), 'container ids are safe file names');
    const dir = join(this.root, containerId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dir, OWNER_FILE),
      JSON.stringify({ framework_id: frameworkId, task_id: taskId, container_id: containerId }),
    );
    this.byTask.set(streamKey(frameworkId, taskId), dir);
    this.active.add(dir);
    return { dir, ...this.openLogs(dir) };
  }

  /** Re-opens the logs of a sandbox that already exists (a container re-attached after a restart). */
  reopen(frameworkId: string, taskId: string, dir: string): Sandbox {
    this.byTask.set(streamKey(frameworkId, taskId), dir);
    this.active.add(dir);
    this.finishedOrder = this.finishedOrder.filter((each) => each !== dir);
    return { dir, ...this.openLogs(dir) };
  }

  /** The task ended: its logs are closed and its sandbox joins the finished ones (bounded). */
  finish(sandbox: Sandbox): void {
    sandbox.stdout.close();
    sandbox.stderr.close();
    this.active.delete(sandbox.dir);
    this.finishedOrder.push(sandbox.dir);
    this.collect();
  }

  /** Where a task's logs are, if its sandbox still exists. */
  find(frameworkId: string, taskId: string): string | undefined {
    return this.byTask.get(streamKey(frameworkId, taskId));
  }

  isActive(dir: string): boolean {
    return this.active.has(dir);
  }

  private openLogs(dir: string): { stdout: RotatingLog; stderr: RotatingLog } {
    const { logBytesMax, logRotationsKept } = this.limits;
    return {
      stdout: new RotatingLog(dir, 'stdout', logBytesMax, logRotationsKept),
      stderr: new RotatingLog(dir, 'stderr', logBytesMax, logRotationsKept),
    };
  }

  private collect(): void {
    while (this.finishedOrder.length > this.limits.finishedSandboxesKept) {
      const dir = this.finishedOrder.shift()!;
      assert(!this.active.has(dir), 'an active sandbox is never collected');
      rmSync(dir, { recursive: true, force: true });
      for (const [key, each] of this.byTask) if (each === dir) this.byTask.delete(key);
    }
  }

  /** At start-up every sandbox on disk counts as finished until the agent re-attaches it. */
  private index(): void {
    const found: Array<{ dir: string; mtimeMs: number }> = [];
    for (const name of readdirSync(this.root)) {
      const dir = join(this.root, name);
      const owner = readOwner(dir);
      if (!owner) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      this.byTask.set(streamKey(owner.framework_id, owner.task_id), dir);
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
