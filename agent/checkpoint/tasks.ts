import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../lib/log.js';
import { Runtime, TaskInfo } from '../../protocol/index.js';
import { assert } from '../../lib/assert.js';
import { Journal } from './journal.js';

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

const JournalRecord = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('task'), record: TaskRecord }),
  z.strictObject({ kind: z.literal('removed'), container_id: z.string().min(1) }),
]);

export const TASKS_JOURNAL_FILE = 'journal';

export interface TaskCheckpointsOptions {
  /** `<workDir>/tasks` (created if missing). */
  readonly dir: string;
  /** The journal is compacted once it holds this many bytes (agentLimits.journalCompactBytesMin). */
  readonly journalCompactBytesMin: number;
  readonly logger: Logger;
}

/**
 * The active tasks' checkpoints, as records of one journal (`<dir>/journal`, see journal.ts):
 * a task's record is appended and fsynced (sharing the fdatasync with whatever else was
 * appended in the same turn), a removal appended without a sync of its own. Agents before the
 * journal kept one `<containerId>.json` per task; those are read once and removed.
 */
export class TaskCheckpoints {
  private readonly records = new Map<string, TaskRecord>();
  private journal: Journal | undefined;

  private constructor() {}

  static async open(options: TaskCheckpointsOptions): Promise<TaskCheckpoints> {
    const checkpoints = new TaskCheckpoints();
    await mkdir(options.dir, { recursive: true });
    const legacy = await readLegacyRecords(options.dir, options.logger);
    checkpoints.journal = await Journal.open(
      join(options.dir, TASKS_JOURNAL_FILE),
      {
        compactBytesMin: options.journalCompactBytesMin,
        snapshot: () => checkpoints.snapshot(),
      },
      (lines) => {
        for (const record of legacy.records) checkpoints.records.set(record.container_id, record);
        for (const [index, line] of lines.entries()) {
          const parsed = parseLine(JournalRecord, line);
          if (!parsed) {
            options.logger.warn('skipping an unreadable task checkpoint record', {
              record: index + 1,
            });
          } else if (parsed.kind === 'task')
            checkpoints.records.set(parsed.record.container_id, parsed.record);
          else checkpoints.records.delete(parsed.container_id);
        }
        return checkpoints.snapshot();
      },
    );
    for (const file of legacy.files) await rm(file, { force: true });
    return checkpoints;
  }

  /** Checkpoints (or replaces) a task's record; resolves once it is on disk. */
  async write(record: TaskRecord): Promise<void> {
    this.records.set(record.container_id, record);
    await this.open().append(JSON.stringify({ kind: 'task', record }), true);
  }

  /** Forgets a task's record (written, not synced: see `flush`). */
  async remove(containerId: string): Promise<void> {
    if (!this.records.delete(containerId)) return;
    await this.open().append(JSON.stringify({ kind: 'removed', container_id: containerId }), false);
  }

  /** Resolves once every write and removal so far is on disk. */
  async flush(): Promise<void> {
    await this.journal?.flush();
  }

  /** Every task checkpointed and not removed. */
  list(): TaskRecord[] {
    return [...this.records.values()];
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }

  private snapshot(): string[] {
    return [...this.records.values()].map((record) => JSON.stringify({ kind: 'task', record }));
  }

  private open(): Journal {
    assert(this.journal !== undefined, 'the journal is open once the checkpoints are');
    return this.journal;
  }
}

/** The `<containerId>.json` files of an agent before the journal (unreadable ones are dropped). */
async function readLegacyRecords(
  dir: string,
  logger: Logger,
): Promise<{ records: TaskRecord[]; files: string[] }> {
  const records: TaskRecord[] = [];
  const files: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name === TASKS_JOURNAL_FILE) continue;
    const path = join(dir, name);
    files.push(path);
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const record = parseLine(TaskRecord, await readFile(path, 'utf8'));
    if (record) records.push(record);
    else logger.warn('removing an unreadable task checkpoint', { path });
  }
  return { records, files };
}

function parseLine<T extends z.ZodType>(schema: T, text: string): z.infer<T> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
