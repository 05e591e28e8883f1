import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../lib/log.js';
import { TaskStatus } from '../../protocol/messages/task.js';
import { streamKey, type StatusUpdate } from '../core/updates.js';

/**
 * The status updates of every task on disk, as records of the agent's update journal
 * (`<workDir>/updates/journal`, see checkpoint/journal.ts): one per update (written and
 * fsynced before the update is first sent) and one per acknowledgement. Acknowledgements are
 * not synced: losing one only means the update is sent again, which the master tolerates.
 *
 * Agents before the journal kept one file of such lines per task (`<digest>.log`, whose
 * acknowledgements name only the uuid); `readLegacyUpdateLogs` reads those once, on the first
 * start after an upgrade, and they are removed once the journal holds their state.
 */
const UpdateRecord = z.strictObject({
  kind: z.literal('update'),
  framework_id: z.string().min(1),
  status: TaskStatus,
});
const AckRecord = z.strictObject({
  kind: z.literal('ack'),
  framework_id: z.string().min(1),
  task_id: z.string().min(1),
  uuid: z.string().min(1),
});
const JournalRecord = z.discriminatedUnion('kind', [UpdateRecord, AckRecord]);
const LegacyAckRecord = z.strictObject({ kind: z.literal('ack'), uuid: z.string().min(1) });
const LogRecord = z.discriminatedUnion('kind', [UpdateRecord, LegacyAckRecord]);

export const JOURNAL_FILE = 'journal';

export interface RecoveredStream {
  /** The newest update ever written for the task, acknowledged or not. */
  readonly latest: StatusUpdate;
  /** Unacknowledged updates, oldest first. */
  readonly pending: readonly StatusUpdate[];
}

export function updateRecord(update: StatusUpdate): string {
  return JSON.stringify({
    kind: 'update',
    framework_id: update.frameworkId,
    status: update.status,
  });
}

export function ackRecord(frameworkId: string, taskId: string, uuid: string): string {
  return JSON.stringify({ kind: 'ack', framework_id: frameworkId, task_id: taskId, uuid });
}

/** The records that rebuild `stream` as it is: each pending update, and `latest` acknowledged. */
export function streamRecords(stream: RecoveredStream): string[] {
  const lines = stream.pending.map(updateRecord);
  if (stream.pending.at(-1)?.uuid !== stream.latest.uuid) {
    const { frameworkId, taskId, uuid } = stream.latest;
    lines.unshift(updateRecord(stream.latest), ackRecord(frameworkId, taskId, uuid));
  }
  return lines;
}

/** Replays journal records into streams, in order of first appearance; unreadable ones are skipped. */
export function replayJournal(
  records: readonly string[],
  logger: Logger,
): Map<string, RecoveredStream> {
  const streams = new Map<string, { latest: StatusUpdate; pending: StatusUpdate[] }>();
  for (const [index, line] of records.entries()) {
    const record = parse(JournalRecord, line);
    if (!record) {
      logger.warn('skipping an unreadable status update record', { record: index + 1 });
      continue;
    }
    if (record.kind === 'ack') {
      const stream = streams.get(streamKey(record.framework_id, record.task_id));
      if (stream && stream.pending[0]?.uuid === record.uuid) stream.pending.shift();
      continue;
    }
    const update = toUpdate(record);
    if (!update) continue;
    const key = streamKey(update.frameworkId, update.taskId);
    const stream = streams.get(key);
    if (stream) {
      stream.latest = update;
      stream.pending.push(update);
    } else streams.set(key, { latest: update, pending: [update] });
  }
  return streams;
}

function toUpdate(record: z.infer<typeof UpdateRecord>): StatusUpdate | undefined {
  const uuid = record.status.uuid;
  if (uuid === undefined) return undefined;
  return {
    frameworkId: record.framework_id,
    taskId: record.status.task_id.value,
    uuid,
    status: record.status,
  };
}

/**
 * The per-task logs an older agent left in `dir`: their streams, and the files to remove once
 * the journal holds them (with any temporary file of an interrupted journal rewrite).
 */
export async function readLegacyUpdateLogs(
  dir: string,
  logger: Logger,
): Promise<{ streams: RecoveredStream[]; files: string[] }> {
  const streams: RecoveredStream[] = [];
  const files: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const file = join(dir, name);
    // What a compaction cut short by a crash left behind: the journal itself is whole.
    if (name.startsWith('.') && name.endsWith('.tmp')) files.push(file);
    if (!name.endsWith('.log')) continue;
    files.push(file);
    const stream = parseLog(file, await readFile(file, 'utf8'), logger);
    if (stream) streams.push(stream);
  }
  return { streams, files };
}

function parseLog(file: string, text: string, logger: Logger): RecoveredStream | undefined {
  const lines = text.split('\n');
  const complete = lines.slice(0, -1); // the part after the last newline is torn or empty
  let pending: StatusUpdate[] = [];
  let latest: StatusUpdate | undefined;
  for (const [index, line] of complete.entries()) {
    const record = parse(LogRecord, line);
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
  return latest ? { latest, pending } : undefined;
}

function parse<T extends z.ZodType>(schema: T, line: string): z.infer<T> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
