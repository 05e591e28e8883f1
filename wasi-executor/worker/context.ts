/**
 * The per-task GuestContext inside a worker: capped output sinks that stream
 * to the main thread, the fuel global, the memories and tables created for
 * the guest, and the facts the verdict needs (fuel ran out, memory at cap).
 */
import { assert } from '../../lib/assert.js';
import { WASM_PAGE_BYTES, pagesUnderCap } from '../limits.js';
import type { GuestContext, GuestSpec, LimitImports, LimitPlan, OutputSink } from '../guest.js';
import type { TaskLimits } from '../types.js';

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

/** Slots of the shared progress array the main thread reads after a timeout or kill. */
export const PROGRESS_FUEL_CONSUMED = 0;
export const PROGRESS_MEMORY_BYTES = 1;
export const PROGRESS_SLOTS = 2;

export type OutputStream = 'stdout' | 'stderr';

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
  fuelConsumed(): number;
  memoryBytes(): number;
  /** Whether some memory ended within the cap's headroom (see atCap). */
  memoryAtCap(): boolean;
}

/**
 * A memory counts as "at the cap" when less than this much room was left:
 * an allocator that failed a grow asked for more than what remained, and
 * allocators grow in steps of this order (dlmalloc asks for what it needs).
 */
function headroomBytes(memoryBytesMax: number): number {
  return Math.max(WASM_PAGE_BYTES * 16, Math.floor(memoryBytesMax / 16));
}

export function createTaskContext(
  spec: GuestSpec,
  limits: TaskLimits,
  progress: Float64Array,
  emit: (stream: OutputStream, bytes: Uint8Array, truncated: boolean) => void,
): TaskContext {
  assert(progress.length >= PROGRESS_SLOTS, 'progress array has its slots');
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, BigInt(limits.fuel));
  const memories: WebAssembly.Memory[] = [];
  let metered = false;
  let fuelExhausted = false;
  const capPages = pagesUnderCap(limits.memoryBytesMax);
  const outOfFuel = (): never => {
    fuelExhausted = true;
    throw new FuelExhausted();
  };
  const memoryBytes = (): number =>
    memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);
  const fuelConsumed = (): number => {
    if (!metered) return 0;
    const remaining = fuel.value as bigint;
    return Math.max(0, limits.fuel - Number(remaining < 0n ? 0n : remaining));
  };
  const limitImports = (plan: LimitPlan): LimitImports => {
    metered ||= plan.metered;
    const imports: LimitImports = { fuel, out_of_fuel: outOfFuel };
    for (const declared of plan.memories) {
      if (declared.initialPages > capPages) {
        throw new InitialMemoryOverCap(
          `initial memory of ${declared.initialPages * WASM_PAGE_BYTES} bytes exceeds the cap of ${limits.memoryBytesMax}`,
        );
      }
      const maximum = Math.min(declared.maximumPages ?? capPages, capPages);
      const memory = new WebAssembly.Memory({
        initial: declared.initialPages,
        maximum,
        ...(declared.shared === true ? { shared: true } : {}),
      });
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
      emit('stdout', bytes, truncated),
    ),
    stderr: new CappedSink(limits.stderrBytesMax, (bytes, truncated) =>
      emit('stderr', bytes, truncated),
    ),
    fuel,
    memoryBytesMax: limits.memoryBytesMax,
    limitImports,
    trackMemory: (memory) => {
      if (!memories.includes(memory)) memories.push(memory);
    },
    recordProgress: () => {
      progress[PROGRESS_FUEL_CONSUMED] = fuelConsumed();
      progress[PROGRESS_MEMORY_BYTES] = memoryBytes();
    },
    get fuelExhausted() {
      return fuelExhausted;
    },
    fuelConsumed,
    memoryBytes,
    memoryAtCap: () => {
      const headroom = headroomBytes(limits.memoryBytesMax);
      const total = memoryBytes();
      return memories.length > 0 && total + headroom > limits.memoryBytesMax;
    },
  };
}
