import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../lib/log.js';
import { TaskStatus } from '../../protocol/messages/task.js';
import { streamKey, type StatusUpdate } from '../core/updates.js';

/**
 * The status updates of one task on disk: an append-only file of JSON lines, one per update
 * (written and fsynced before the update is first sent) and one per acknowledgement. A torn last
 * line (the agent died mid-write) is ignored: that update was never sent. Acknowledgements are
 * not fsynced: losing one only means the update is sent again, which the master tolerates.
 */
const UpdateRecord = z.strictObject({
  kind: z.literal('update'),
  framework_id: z.string().min(1),
  status: TaskStatus,
});
const AckRecord = z.strictObject({ kind: z.literal('ack'), uuid: z.string().min(1) });
const LogRecord = z.discriminatedUnion('kind', [UpdateRecord, AckRecord]);

export interface RecoveredStream {
  /** The newest update ever written for the task, acknowledged or not. */
  readonly latest: StatusUpdate;
  /** Unacknowledged updates, oldest first. */
  readonly pending: readonly StatusUpdate[];
  readonly file: string;
}

export function updateLogFile(dir: string, frameworkId: string, taskId: string): string {
  const digest = createHash('sha256').update(streamKey(frameworkId, taskId)).digest('hex');
  return join(dir, `${digest.slice(0, 40)}.log`);
}

export async function appendUpdate(file: string, update: StatusUpdate): Promise<void> {
  const line = JSON.stringify({
    kind: 'update',
    framework_id: update.frameworkId,
    status: update.status,
  });
  await appendLine(file, line, true);
}

export async function appendAck(file: string, uuid: string): Promise<void> {
  await appendLine(file, JSON.stringify({ kind: 'ack', uuid }), false);
}

export async function removeLog(file: string): Promise<void> {
  await rm(file, { force: true });
}

async function appendLine(file: string, line: string, durable: boolean): Promise<void> {
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.write(line + '\n');
    if (durable) await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Reads every task's log in `dir` (creating `dir` if needed). */
export async function readUpdateLogs(dir: string, logger: Logger): Promise<RecoveredStream[]> {
  await mkdir(dir, { recursive: true });
  const streams: RecoveredStream[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith('.log')) continue;
    const file = join(dir, name);
    const stream = parseLog(file, await readFile(file, 'utf8'), logger);
    if (stream) streams.push(stream);
    else await removeLog(file);
  }
  return streams;
}

function parseLog(file: string, text: string, logger: Logger): RecoveredStream | undefined {
  const lines = text.split('\n');
  const complete = lines.slice(0, -1); // the part after the last newline is torn or empty
  let pending: StatusUpdate[] = [];
  let latest: StatusUpdate | undefined;
  for (const [index, line] of complete.entries()) {
    const record = parseRecord(line);
    if (!record) {
      logger.warn('skipping an unreadable status update record', { file, line: index + 1 });
      continue;
    }
    if (record.kind === 'ack') {
      if (pending[0]?.uuid === record.uuid) pending = pending.slice(1);
      continue;
    }
    const uuid = record.status.uuid;
    if (uuid === undefined) continue;
    latest = {
      frameworkId: record.framework_id,
      taskId: record.status.task_id.value,
      uuid,
      status: record.status,
    };
    pending.push(latest);
  }
  return latest ? { latest, pending, file } : undefined;
}

function parseRecord(line: string): z.infer<typeof LogRecord> | undefined {
  try {
    const parsed = LogRecord.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
