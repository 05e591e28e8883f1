import { performance } from 'node:perf_hooks';
import type { Cancel, Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';
import { decodeCbor, encodeCbor } from '../../protocol/index.js';
import type { CoreError } from '../core/errors.js';
import { MasterCore, type MasterCoreOptions } from '../core/master.js';
import type {
  AgentDelivery,
  CoreInput,
  FrameworkDelivery,
  Ready,
  StepReply,
} from '../core/messages.js';
import {
  applyRegistryChanges,
  decodeRegistry,
  encodeRegistry,
  encodeRegistryBase,
  encodeRegistryChange,
  emptyRegistry,
  type Registry,
} from '../core/registry.js';
import type { CoreState } from '../core/state.js';
import type { RegistryStore, RegistryVersion, RegistryWriteError } from '../registry/store.js';

/** Where the driver sends what the core decided; the HTTP routes (and the jobs framework) implement it. */
export interface Outlets {
  toAgent(delivery: AgentDelivery): void;
  toFramework(delivery: FrameworkDelivery): void;
  closeFrameworkStream(frameworkId: string, streamId: string): void;
}

/** Why a stepped call was not acknowledged. */
export type SubmitError =
  | { readonly kind: 'core'; readonly error: CoreError }
  /** The registry write failed: the call may or may not have taken effect; retry. */
  | { readonly kind: 'persist'; readonly error: RegistryWriteError }
  /** The driver stopped (shutdown, or leadership lost) before the call was durable. */
  | { readonly kind: 'stopped'; readonly message: string };

export interface MasterDriverOptions {
  readonly core: MasterCoreOptions;
  readonly store: RegistryStore;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Called once when a registry write fails with `conflict` (another master wrote after us:
   * we were deposed) or the store is unavailable. The driver has already stopped.
   */
  readonly onFatal?: (error: RegistryWriteError) => void;
  /**
   * With a store that can append changes (the file store): the changes appended since the last
   * whole write may grow to the whole registry's size, or to this many bytes if that is more,
   * before the next write is a whole one again (which empties the journal). Default
   * DEFAULT_REGISTRY_CHANGES_BYTES_MIN.
   */
  readonly registryChangesBytesMin?: number;
}

/** Default of `registryChangesBytesMin`: small registries are still written as changes. */
export const DEFAULT_REGISTRY_CHANGES_BYTES_MIN = 256 * 1024;

/** How long the allocator took, measured around the ticks that ran it (Mesos's allocation_run_ms). */
export interface AllocationTiming {
  readonly runs: number;
  readonly lastMs: number;
  readonly totalMs: number;
}

/** What the driver knows of what is stored (so a write need not look). */
interface StoredShape {
  /** Bytes of the last whole registry written. */
  readonly wholeBytes: number;
  /** Bytes of the changes appended after it. */
  readonly changesBytes: number;
  /** The CBOR of the stored registry's base (encodeRegistryBase): a change carries it if it differs. */
  readonly base: Uint8Array;
}

interface Batch {
  readonly ready: Ready;
  readonly settle: ReadonlyArray<(failure: SubmitError | undefined) => void>;
}

/**
 * The imperative shell around the pure MasterCore: steps inputs in arrival order, carries out
 * each Ready (persist → deliver → close → advance, see core/messages.ts) and keeps the core's
 * timer. Steps never wait for I/O: each `Ready` is taken at once and queued, and the queue is
 * drained in order by one writer, so calls arriving during a registry write are grouped into
 * the next write (group commit), and only the newest registry of a run of queued batches is
 * written. A call's promise resolves once the batch holding its effects is durable.
 */
export class MasterDriver {
  private readonly queue: Batch[] = [];
  private settleWaiting: Array<(failure: SubmitError | undefined) => void> = [];
  private flushScheduled = false;
  private draining = false;
  private stopped = false;
  private cancelTick: Cancel | undefined;
  private tickDueMs = Infinity;
  private version: RegistryVersion | undefined;
  private outlets: Outlets | undefined;
  private readonly stopListeners: Array<() => void> = [];
  private timing: AllocationTiming = { runs: 0, lastMs: 0, totalMs: 0 };
  /** The stored registry's shape, for choosing between appending a change and a whole write. */
  private stored: StoredShape;

  private constructor(
    private readonly core: MasterCore,
    private readonly options: MasterDriverOptions,
    version: RegistryVersion | undefined,
    stored: StoredShape,
  ) {
    this.version = version;
    this.stored = stored;
  }

  /**
   * Recovers the registry from the store (writing the empty one on first start, so that a
   * later conflicting writer is detected) and starts the core's clock.
   */
  static async start(options: MasterDriverOptions): Promise<Result<MasterDriver, string>> {
    const changesBytesMin = options.registryChangesBytesMin ?? DEFAULT_REGISTRY_CHANGES_BYTES_MIN;
    if (!(Number.isSafeInteger(changesBytesMin) && changesBytesMin >= 0))
      return err('registryChangesBytesMin must be a whole number of bytes, 0 or more');
    const stored = await options.store.load();
    let registry: Registry = emptyRegistry();
    if (stored) {
      const decoded = decodeCbor(stored.bytes);
      if (!decoded.ok) return err(`registry is not CBOR: ${decoded.error}`);
      const parsed = decodeRegistry(decoded.value);
      if (!parsed.ok) return err(`registry is invalid: ${parsed.error}`);
      const changes: unknown[] = [];
      for (const [index, bytes] of (stored.changes ?? []).entries()) {
        const change = decodeCbor(bytes);
        if (!change.ok) return err(`registry change ${index} is not CBOR: ${change.error}`);
        changes.push(change.value);
      }
      const applied = applyRegistryChanges(parsed.value, changes);
      if (!applied.ok) return err(`registry is invalid: ${applied.error}`);
      registry = applied.value;
    }
    const core = MasterCore.create(options.core, registry, options.clock.nowMs());
    if (!core.ok) return err(core.error);
    let version = stored?.version;
    let shape: StoredShape = {
      wholeBytes: stored?.bytes.byteLength ?? 0,
      changesBytes: (stored?.changes ?? []).reduce((sum, change) => sum + change.byteLength, 0),
      base: encodeCbor(encodeRegistryBase(registry)),
    };
    if (!stored) {
      const bytes = encodeCbor(encodeRegistry(core.value.registry()));
      const written = await options.store.store(bytes, undefined);
      if (!written.ok) return err(`registry write failed: ${written.error.message}`);
      version = written.value;
      shape = { ...shape, wholeBytes: bytes.byteLength };
    }
    const driver = new MasterDriver(core.value, options, version, shape);
    driver.scheduleFlush();
    return ok(driver);
  }

  /** The routes register here before traffic flows; deliveries before that are dropped. */
  attach(outlets: Outlets): void {
    this.outlets = outlets;
  }

  get isRunning(): boolean {
    return !this.stopped;
  }

  /**
   * Steps one input now. A core error comes back at once (nothing changed); otherwise the
   * promise resolves once the input's effects are durable (and their messages sent).
   */
  submit(input: CoreInput): Promise<Result<StepReply, SubmitError>> {
    if (this.stopped)
      return Promise.resolve(err({ kind: 'stopped', message: 'this master is not running' }));
    const stepped = this.core.step(input, this.options.clock.nowMs());
    if (!stepped.ok) return Promise.resolve(err({ kind: 'core', error: stepped.error }));
    return new Promise((resolve) => {
      this.settleWaiting.push((failure) => resolve(failure ? err(failure) : ok(stepped.value)));
      this.scheduleFlush();
    });
  }

  /** Steps an input whose outcome nobody waits for (a stream closed, a heartbeat). */
  notify(input: CoreInput): void {
    if (this.stopped) return;
    const stepped = this.core.step(input, this.options.clock.nowMs());
    if (!stepped.ok) {
      this.options.log.debug('input refused by the core', {
        kind: input.kind,
        code: stepped.error.code,
        error: stepped.error.message,
      });
      return;
    }
    this.scheduleFlush();
  }

  /** Read-only state for the operator API. Do not mutate. */
  view(): Readonly<CoreState> {
    return this.core.view();
  }

  /** Time spent in allocation runs since this driver started, for metrics. */
  get allocationTiming(): AllocationTiming {
    return this.timing;
  }

  /** The last allocation plan, for metrics. */
  get lastPlan(): MasterCore['lastPlan'] {
    return this.core.lastPlan;
  }

  /** Runs `listener` once when the driver stops (at once if it already has). */
  onStop(listener: () => void): void {
    if (this.stopped) listener();
    else this.stopListeners.push(listener);
  }

  /** Stops stepping and ticking; waiting calls fail with `stopped`. Idempotent. */
  stop(message = 'this master stopped'): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTick?.();
    this.cancelTick = undefined;
    const failure: SubmitError = { kind: 'stopped', message };
    for (const settle of this.settleWaiting.splice(0)) settle(failure);
    for (const batch of this.queue.splice(0)) for (const settle of batch.settle) settle(failure);
    for (const listener of this.stopListeners.splice(0)) listener();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    // One flush per turn of the event loop: every call that arrived in it shares a batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.stopped) return;
    if (this.core.hasReady() || this.settleWaiting.length > 0) {
      const ready = this.core.ready();
      this.core.advance();
      this.queue.push({ ready, settle: this.settleWaiting });
      this.settleWaiting = [];
      void this.drain();
    }
    this.scheduleTick(this.core.wakeAtMs());
  }

  private scheduleTick(dueMs: number): void {
    if (this.stopped || (this.cancelTick && dueMs >= this.tickDueMs)) return;
    this.cancelTick?.();
    this.tickDueMs = dueMs;
    const delayMs = Math.max(0, dueMs - this.options.clock.nowMs());
    this.cancelTick = this.options.clock.after(delayMs, () => {
      this.cancelTick = undefined;
      this.tickDueMs = Infinity;
      this.tick();
      // A tick with nothing to do still needs the next wake-up scheduled.
      this.scheduleFlush();
    });
  }

  private tick(): void {
    const runsBefore = this.core.view().allocation.runs;
    const startedMs = performance.now();
    this.notify({ kind: 'tick' });
    if (this.core.view().allocation.runs === runsBefore) return;
    const lastMs = performance.now() - startedMs;
    this.timing = {
      runs: this.timing.runs + 1,
      lastMs,
      totalMs: this.timing.totalMs + lastMs,
    };
  }

  /** Writes and delivers queued batches in order; one drain at a time. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const run = this.queue.splice(0);
        const newest = run.findLast((batch) => batch.ready.persist !== undefined);
        if (newest?.ready.persist) {
          const jobIds = new Set<string>();
          for (const batch of run) for (const jobId of batch.ready.changedJobIds) jobIds.add(jobId);
          const failure = await this.persist(newest.ready.persist, jobIds);
          if (failure) {
            this.fail(failure, run);
            return;
          }
        }
        for (const batch of run) {
          this.deliver(batch.ready);
          for (const settle of batch.settle) settle(undefined);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Writes `registry`, in which the jobs of `jobIds` changed since the last write: as a change
   * appended to the stored registry when the store can and the changes so far are still small
   * next to the whole, else whole. Either resolves once durable.
   */
  private async persist(
    registry: Registry,
    jobIds: ReadonlySet<string>,
  ): Promise<RegistryWriteError | undefined> {
    const { store } = this.options;
    try {
      const basePlain = encodeRegistryBase(registry);
      const base = encodeCbor(basePlain);
      const baseChanged = !Buffer.from(base).equals(this.stored.base);
      if (store.append && this.version !== undefined) {
        const change = encodeCbor(
          encodeRegistryChange(registry, jobIds, baseChanged ? basePlain : undefined),
        );
        const changesBytes = this.stored.changesBytes + change.byteLength;
        const changesBytesMax = Math.max(
          this.stored.wholeBytes,
          this.options.registryChangesBytesMin ?? DEFAULT_REGISTRY_CHANGES_BYTES_MIN,
        );
        if (changesBytes <= changesBytesMax) {
          const appended = await store.append(change, this.version);
          if (appended.ok) {
            this.version = appended.value;
            this.stored = { ...this.stored, changesBytes, base };
            return undefined;
          }
          // Too large as a change (the store's journal is full): write the whole instead.
          if (appended.error.code !== 'too_large') return appended.error;
        }
      }
      const bytes = encodeCbor(encodeRegistry(registry));
      const written = await store.store(bytes, this.version);
      if (!written.ok) return written.error;
      this.version = written.value;
      this.stored = { wholeBytes: bytes.byteLength, changesBytes: 0, base };
      return undefined;
    } catch (error) {
      return {
        code: 'unavailable',
        message: error instanceof Error ? error.message : String(error),
      };
    }
  }

  private fail(error: RegistryWriteError, run: readonly Batch[]): void {
    this.options.log.error('registry write failed: this master stops leading', {
      code: error.code,
      error: error.message,
    });
    const failure: SubmitError = { kind: 'persist', error };
    for (const batch of run) for (const settle of batch.settle) settle(failure);
    this.stop(`registry write failed: ${error.message}`);
    this.options.onFatal?.(error);
  }

  private deliver(ready: Ready): void {
    const outlets = this.outlets;
    if (!outlets) return;
    for (const delivery of ready.toAgents) outlets.toAgent(delivery);
    for (const delivery of ready.toFrameworks) outlets.toFramework(delivery);
    for (const { frameworkId, streamId } of ready.closeStreams)
      outlets.closeFrameworkStream(frameworkId, streamId);
  }
}
