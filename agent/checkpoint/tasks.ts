import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../lib/log.js';
import { Runtime, TaskInfo } from '../../protocol/index.js';
import { writeFileAtomic } from './atomic.js';

/**
 * One active task, checkpointed in `<workDir>/tasks/<containerId>.json` before its container is
 * launched (and again with the container's own state once it runs), removed once its terminal
 * update is checkpointed. After a restart, these are the tasks to recover.
 */
export const TaskRecord = z.strictObject({
  framework_id: z.string().min(1),
  container_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  runtime: Runtime,
  task: TaskInfo,
  sandbox_dir: z.string().min(1),
  /** What the containerizer asked to keep (absent until the container launched). */
  container_state: z.record(z.string(), z.unknown()).optional(),
  /** Set before the agent kills a task for a limit it went past, so a restart reports the same. */
  limitation: z
    .strictObject({
      reason: z.literal('REASON_CONTAINER_LIMITATION_DISK'),
      message: z.string().max(4096),
    })
    .optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

export class TaskCheckpoints {
  constructor(private readonly dir: string) {}

  async write(record: TaskRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file(record.container_id), JSON.stringify(record));
  }

  async remove(containerId: string): Promise<void> {
    await rm(this.file(containerId), { force: true });
  }

  /** Every readable record; an unreadable one is logged and removed (nothing could recover it). */
  async list(logger: Logger): Promise<TaskRecord[]> {
    await mkdir(this.dir, { recursive: true });
    const records: TaskRecord[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const path = join(this.dir, name);
      if (!name.endsWith('.json') || name.startsWith('.')) {
        await rm(path, { force: true });
        continue;
      }
      const record = parseRecord(await readFile(path, 'utf8'));
      if (record) records.push(record);
      else {
        logger.warn('removing an unreadable task checkpoint', { path });
        await rm(path, { force: true });
      }
    }
    return records;
  }

  private file(containerId: string): string {
    return join(this.dir, `${containerId}.json`);
  }
}

function parseRecord(text: string): TaskRecord | undefined {
  try {
    const parsed = TaskRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
