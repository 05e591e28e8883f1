/**
 * Waiting on a run directory without a busy loop: fs.watch wakes us when the supervisor writes
 * a file, and a poll at a modest interval covers what inotify misses (a process that died
 * without writing anything, filesystems without events).
 */
import { watch, type FSWatcher } from 'node:fs';

export type WatchOutcome<T> =
  | { readonly kind: 'found'; readonly value: T }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'closed' };

export interface WatchOptions {
  readonly pollIntervalMs: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Runs `check` on every change and every poll until it returns a value. */
export function watchUntil<T>(
  dir: string,
  check: () => Promise<T | undefined>,
  options: WatchOptions,
): Promise<WatchOutcome<T>> {
  return new Promise((resolve, reject) => {
    let done = false;
    let checking = false;
    let checkAgain = false;
    let watcher: FSWatcher | undefined;
    const finish = (outcome: WatchOutcome<T> | Error): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      if (deadline) clearTimeout(deadline);
      watcher?.close();
      options.signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const run = async (): Promise<void> => {
      if (checking) {
        checkAgain = true;
        return;
      }
      checking = true;
      try {
        do {
          checkAgain = false;
          const value = await check();
          if (value !== undefined) return finish({ kind: 'found', value });
        } while (checkAgain && !done);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      } finally {
        checking = false;
      }
    };
    const onAbort = (): void => finish({ kind: 'closed' });
    const poll = setInterval(() => void run(), options.pollIntervalMs);
    const deadline =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => finish({ kind: 'timeout' }), options.timeoutMs);
    if (options.signal?.aborted) return finish({ kind: 'closed' });
    options.signal?.addEventListener('abort', onAbort);
    try {
      watcher = watch(dir, () => void run());
      watcher.on('error', () => watcher?.close());
    } catch {
      // No events for this directory: the poll alone will do.
    }
    void run();
  });
}
