/**
 * The per-task GuestContext inside a worker: capped output sinks that stream
 * to the main thread, the fuel global, the memories and tables created for
 * the guest, and the facts the verdict needs (fuel ran out, a grow failed).
 */
import { assert } from '../../lib/assert.js';
import { joinBytes } from '../../lib/bytes.js';
import { WASM_PAGE_BYTES, defaultExecutorLimits, pagesUnderCap } from '../limits.js';
import type { GuestContext, GuestSpec, LimitImports, LimitPlan, OutputSink } from '../guest.js';
import type { TaskLimits } from '../types.js';
import type { SpareMemories } from './spare-memories.js';

/** Thrown by the out_of_fuel import: unwinds the guest, told apart from its own traps. */
export class FuelExhausted extends Error {
  override readonly name = 'FuelExhausted';
  constructor() {
    super('fuel exhausted');
  }
}

/** Thrown when a module's declared initial memory is already above the task's cap. */
export class InitialMemoryOverCap extends Error {
  override readonly name = 'InitialMemoryOverCap';
}

/**
 * Slots of the shared progress array the main thread reads after a timeout or
 * kill: written at every host call and every fuel slice (a lower bound then).
 */
export const PROGRESS_FUEL_CONSUMED = 0;
export const PROGRESS_MEMORY_BYTES = 1;
export const PROGRESS_SLOTS = 2;

export type OutputStream = 'stdout' | 'stderr';

/** Pending output that is sent at once, whatever the time since the last message. */
export const OUTPUT_BATCH_BYTES = 64 * 1024;
/** A write (or host call, or fuel slice) this long after the last output message sends the pending output. */
export const OUTPUT_FLUSH_INTERVAL_MS = 20;

type Emit = (stream: OutputStream, bytes: Uint8Array, truncated: boolean) => void;

/**
 * Turns a task's writes into few messages to the main thread. A guest that floods its output with
 * small writes would otherwise queue a message per write on the agent's event loop and starve it
 * (heartbeats, other tasks' updates). A write goes out at once when no output message went out
 * for OUTPUT_FLUSH_INTERVAL_MS (so a program printing now and then streams live); within that
 * interval writes are held until OUTPUT_BATCH_BYTES are pending, the interval has passed at a
 * later write, host call or fuel slice, or the task ends. The first dropped byte is told at once.
 * A task's batcher counts its start as a flush: what a short task writes in its first interval
 * goes out with its result (worker.ts), one message instead of two.
 */
export class OutputBatcher {
  private readonly pending: Record<OutputStream, Uint8Array[]> = { stdout: [], stderr: [] };
  private readonly truncated: Record<OutputStream, boolean> = { stdout: false, stderr: false };
  private pendingBytes = 0;
  private hasPending = false;
  private lastFlushMs: number;

  constructor(
    private readonly emit: Emit,
    private readonly nowMs: () => number = () => performance.now(),
    /** Writes before this time plus OUTPUT_FLUSH_INTERVAL_MS are held (default: none are). */
    heldSinceMs = -Infinity,
  ) {
    this.lastFlushMs = heldSinceMs;
  }

  write(stream: OutputStream, bytes: Uint8Array, truncated: boolean): void {
    // A copy: the bytes may be a view of guest memory that changes before the flush.
    if (bytes.length > 0) this.pending[stream].push(bytes.slice());
    this.pendingBytes += bytes.length;
    this.hasPending = true;
    if (truncated) this.truncated[stream] = true;
    if (truncated || this.pendingBytes >= OUTPUT_BATCH_BYTES) this.flush();
    else this.flushIfDue();
  }

  flushIfDue(): void {
    if (this.hasPending && this.nowMs() - this.lastFlushMs >= OUTPUT_FLUSH_INTERVAL_MS)
      this.flush();
  }

  flush(): void {
    if (!this.hasPending) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const chunks = this.pending[stream];
      if (chunks.length === 0 && !this.truncated[stream]) continue;
      // Each chunk has a buffer of its own (not a pooled slab), so a message clones only its bytes.
      this.emit(
        stream,
        chunks.length === 1 ? chunks[0]! : joinBytes(chunks),
        this.truncated[stream],
      );
      this.pending[stream] = [];
      this.truncated[stream] = false;
    }
    this.pendingBytes = 0;
    this.hasPending = false;
    this.lastFlushMs = this.nowMs();
  }
}

class CappedSink implements OutputSink {
  bytesWritten = 0;
  truncated = false;

  constructor(
    private readonly bytesMax: number,
    private readonly forward: (bytes: Uint8Array, truncated: boolean) => void,
  ) {}

  write(bytes: Uint8Array): void {
    const room = this.bytesMax - this.bytesWritten;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    const truncatedNow = bytes.length > room && !this.truncated;
    if (truncatedNow) this.truncated = true;
    // The first drop is told at once, so a task ended from outside still reports it.
    if (kept.length === 0 && !truncatedNow) return;
    this.bytesWritten += kept.length;
    this.forward(kept, truncatedNow);
  }
}

export interface TaskContext extends GuestContext {
  readonly fuelExhausted: boolean;
  /** Some `memory.grow` of the task returned -1 (the cap, or a module's own maximum). */
  readonly memoryGrowFailed: boolean;
  fuelConsumed(): number;
  memoryBytes(): number;
  /** Sends all pending output (the task ended, or is about to block). */
  flushOutput(): void;
  /**
   * Gives the memories this context created to its SpareMemories: only once no code of the task
   * can run again (a preview1 task that returned; not a component, whose glue may hold callbacks).
   */
  releaseMemories(): void;
}

/**
 * The fuel global holds at most `fuelSliceUnits` at a time; the rest of the
 * budget is kept here and handed out each time a check finds the counter
 * below zero (the out_of_fuel import). So even a guest that never calls the
 * host records its progress every slice, which is what a timeout or a kill
 * reports, and the hot path is unchanged: one compare per check.
 */
export function createTaskContext(
  spec: GuestSpec,
  limits: TaskLimits,
  progress: Float64Array,
  emit: Emit,
  fuelSliceUnits: number = defaultExecutorLimits.fuelSliceUnits,
  /** Where memories come from and go back to (the worker's); none: every memory is fresh. */
  spares?: SpareMemories,
): TaskContext {
  const nowMs = (): number => performance.now();
  const output = new OutputBatcher(emit, nowMs, nowMs());
  assert(progress.length >= PROGRESS_SLOTS, 'progress array has its slots');
  assert(Number.isSafeInteger(fuelSliceUnits) && fuelSliceUnits > 0, 'fuel slice is positive');
  const firstGrant = Math.min(limits.fuel, fuelSliceUnits);
  /** Budget not yet put in the global: consumed = budget − reserve − global. */
  let reserve = limits.fuel - firstGrant;
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, BigInt(firstGrant));
  const memories: WebAssembly.Memory[] = [];
  /** The memories created here with their shape: what releaseMemories may give back. */
  const created: Array<{ memory: WebAssembly.Memory; initialPages: number; maximumPages: number }> =
    [];
  let metered = false;
  let fuelExhausted = false;
  let memoryGrowFailed = false;
  const capPages = pagesUnderCap(limits.memoryBytesMax);
  const memoryBytes = (): number =>
    memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);
  const fuelConsumed = (): number => {
    if (!metered) return 0;
    // Past the budget only by forward code after the last check (docs/FUEL.md): the real figure.
    return Math.max(0, limits.fuel - reserve - Number(fuel.value as bigint));
  };
  const recordProgress = (): void => {
    progress[PROGRESS_FUEL_CONSUMED] = fuelConsumed();
    progress[PROGRESS_MEMORY_BYTES] = memoryBytes();
    // Called at host calls and fuel slices: held output goes out even while the guest computes.
    output.flushIfDue();
  };
  const outOfFuel = (): void => {
    // The guest stored its (negative) counter in the global before calling.
    const available = reserve + Number(fuel.value as bigint);
    if (available < 0 || fuelExhausted) {
      reserve = 0;
      fuel.value = 0n;
      fuelExhausted = true;
      recordProgress();
      throw new FuelExhausted();
    }
    const grant = Math.min(fuelSliceUnits, available);
    reserve = available - grant;
    fuel.value = BigInt(grant);
    recordProgress();
  };
  const memoryGrowResult = (result: number): number => {
    if (result === -1) memoryGrowFailed = true;
    return result;
  };
  const limitImports = (plan: LimitPlan): LimitImports => {
    metered ||= plan.metered;
    const imports: LimitImports = {
      fuel,
      out_of_fuel: outOfFuel,
      memory_grow_result: memoryGrowResult,
    };
    for (const declared of plan.memories) {
      if (declared.initialPages > capPages) {
        throw new InitialMemoryOverCap(
          `initial memory of ${declared.initialPages * WASM_PAGE_BYTES} bytes exceeds the cap of ${limits.memoryBytesMax}`,
        );
      }
      const maximum = Math.min(declared.maximumPages ?? capPages, capPages);
      const shared = declared.shared === true;
      const memory =
        (shared ? undefined : spares?.take(declared.initialPages, maximum)) ??
        new WebAssembly.Memory({
          initial: declared.initialPages,
          maximum,
          ...(shared ? { shared: true } : {}),
        });
      if (!shared)
        created.push({ memory, initialPages: declared.initialPages, maximumPages: maximum });
      memories.push(memory);
      imports[declared.importName] = memory;
    }
    for (const declared of plan.tables) {
      const descriptor: WebAssembly.TableDescriptor = {
        element: declared.element,
        initial: declared.initial,
      };
      if (declared.maximum !== undefined) descriptor.maximum = declared.maximum;
      imports[declared.importName] = new WebAssembly.Table(descriptor);
    }
    return imports;
  };
  return {
    spec,
    stdout: new CappedSink(limits.stdoutBytesMax, (bytes, truncated) =>
      output.write('stdout', bytes, truncated),
    ),
    stderr: new CappedSink(limits.stderrBytesMax, (bytes, truncated) =>
      output.write('stderr', bytes, truncated),
    ),
    fuel,
    memoryBytesMax: limits.memoryBytesMax,
    limitImports,
    trackMemory: (memory) => {
      if (!memories.includes(memory)) memories.push(memory);
    },
    recordProgress,
    get fuelExhausted() {
      return fuelExhausted;
    },
    get memoryGrowFailed() {
      return memoryGrowFailed;
    },
    fuelConsumed,
    memoryBytes,
    flushOutput: () => output.flush(),
    releaseMemories: () => {
      for (const { memory, initialPages, maximumPages } of created.splice(0))
        spares?.give(memory, initialPages, maximumPages);
    },
  };
}
