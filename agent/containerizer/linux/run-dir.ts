/**
 * A container's run directory (`<runDir>/<containerId>/`): what the containerizer and the
 * detached supervisor tell each other, and what survives an agent restart.
 *
 *   spec.json          containerizer → supervisor: what to start and where its cgroup is
 *   supervisor.json    supervisor's pid file (pid + start time)
 *   running.json       the task joined its cgroup and was exec'd
 *   kill-requested     the containerizer asked it to stop (so the end is named `killed`)
 *   termination.json   the final status, written once, atomically
 *   supervisor.log     the supervisor's own stdout/stderr
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Termination } from '../containerizer.js';
import { parseTermination } from './run-records.js';

export const RUN_FILES = {
  spec: 'spec.json',
  supervisor: 'supervisor.json',
  running: 'running.json',
  killRequested: 'kill-requested',
  termination: 'termination.json',
  log: 'supervisor.log',
} as const;

/** Writes through a temporary file, fsync, rename, fsync of the directory: all or nothing. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** The parsed file, undefined when absent or unreadable (a torn file cannot exist: see above). */
export async function readJsonFile<T>(
  path: string,
  parse: (value: unknown) => T | undefined,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function readTermination(runDir: string): Promise<Termination | undefined> {
  return readJsonFile(join(runDir, RUN_FILES.termination), parseTermination);
}
