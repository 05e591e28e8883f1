import { watch, type FSWatcher } from 'node:fs';
import { assert } from '../../lib/assert.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';
import { loadTrustStore } from './files.js';
import type { TrustStore } from './trust.js';

/** Quiet time after the last change in the directory before it is read (an editor writes in steps). */
export const TRUST_RELOAD_DEBOUNCE_MS_DEFAULT = 250;
/** Longest debounce accepted: a reload must not wait on a typo for minutes. */
export const TRUST_RELOAD_DEBOUNCE_MS_MAX = 60_000;

export interface TrustReloadOptions {
  /** The trust directory (`wasmos keygen` format: `*.pub` files). */
  readonly dir: string;
  /**
   * The store to keep current: its keys are replaced at once by each good load. It must hold
   * only the directory's keys (keys added at run time would be dropped by a reload).
   */
  readonly store: TrustStore;
  /** Narrows or refuses a loaded directory (e.g. master keys only, at least one); default: all of it. */
  readonly select?: (loaded: TrustStore) => Result<TrustStore, string>;
  readonly debounceMs?: number;
  /** Reload on SIGHUP (default true). */
  readonly onSighup?: boolean;
  /** Reload when the directory changes (fs.watch; default true). */
  readonly watchDirectory?: boolean;
  readonly logger?: Logger;
}

export type TrustReloadOutcome = Result<{ readonly keys: number }, string>;

/**
 * Keeps a long-running process's trust store in step with its trust directory: reloaded on
 * SIGHUP and when a file in it changes (debounced), swapped in one step, and failing closed:
 * a directory that does not load whole (a bad file, or `select` refusing it) leaves the
 * previous keys in place and logs why. Loads never overlap.
 */
export class TrustReloader {
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<TrustReloadOutcome> | undefined;
  private queued: Promise<TrustReloadOutcome> | undefined;
  private closed = false;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly onSignal = (): void => {
    this.logger.info('SIGHUP: reloading the trust directory', { dir: this.options.dir });
    void this.reload();
  };
  /** Loads attempted, and the outcome of the last one (for operators and tests). */
  attempts = 0;
  last: TrustReloadOutcome | undefined;

  constructor(private readonly options: TrustReloadOptions) {
    const debounceMs = options.debounceMs ?? TRUST_RELOAD_DEBOUNCE_MS_DEFAULT;
    assert(
      Number.isFinite(debounceMs) && debounceMs >= 0 && debounceMs <= TRUST_RELOAD_DEBOUNCE_MS_MAX,
      `trust reload debounce must be 0 to ${TRUST_RELOAD_DEBOUNCE_MS_MAX} ms`,
    );
    this.debounceMs = debounceMs;
    this.logger = options.logger ?? silentLogger;
    if (options.onSighup ?? true) process.on('SIGHUP', this.onSignal);
    this.startWatching();
  }

  /**
   * Loads the directory now; on success its keys replace the store's, else nothing changes.
   * While a load runs, callers share one follow-up load, which sees every change made meanwhile.
   */
  reload(): Promise<TrustReloadOutcome> {
    if (!this.running) {
      this.running = this.loadOnce().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.reload();
    });
    return this.queued;
  }

  /** Stops watching and listening; a reload in flight still completes. */
  async close(): Promise<void> {
    this.closed = true;
    process.off('SIGHUP', this.onSignal);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
    await this.queued;
    await this.running;
  }

  private async loadOnce(): Promise<TrustReloadOutcome> {
    this.attempts++;
    const outcome = await this.load();
    this.last = outcome;
    if (outcome.ok) {
      this.logger.info('trust directory reloaded', {
        dir: this.options.dir,
        keys: outcome.value.keys,
      });
    } else {
      this.logger.error('trust directory not reloaded: keeping the previous keys', {
        dir: this.options.dir,
        error: outcome.error,
      });
    }
    // The directory may have been replaced (e.g. a rename over it) and the watcher lost.
    this.startWatching();
    return outcome;
  }

  private async load(): Promise<TrustReloadOutcome> {
    const loaded = await loadTrustStore(this.options.dir);
    if (!loaded.ok) return err(loaded.error.message);
    const selected = this.options.select ? this.options.select(loaded.value) : ok(loaded.value);
    if (!selected.ok) return err(selected.error);
    if (this.closed) return err('the reloader was closed');
    this.options.store.replaceWith(selected.value);
    return ok({ keys: selected.value.size });
  }

  private startWatching(): void {
    if (this.closed || this.watcher || !(this.options.watchDirectory ?? true)) return;
    try {
      const watcher = watch(this.options.dir, () => this.changed());
      watcher.on('error', (error) => {
        this.logger.warn('stopped watching the trust directory', {
          dir: this.options.dir,
          error: error.message,
        });
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
      });
      this.watcher = watcher;
    } catch (error) {
      this.logger.warn('cannot watch the trust directory; SIGHUP still reloads it', {
        dir: this.options.dir,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private changed(): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.reload();
    }, this.debounceMs);
  }
}
