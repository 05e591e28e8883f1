/**
 * Linear memories of finished preview1 tasks, zeroed, handed to the next task of the same
 * worker that declares a memory of the same shape. A fresh WebAssembly.Memory reserves about
 * 10 GB of address space and costs V8 a mapping, page faults and later a collection to free
 * it; about a quarter of a warm hello task's CPU went there (docs/BENCHMARKS.md). A spare is
 * given back only if the task never grew it, and is zeroed before it is kept: the next task
 * sees exactly what a fresh memory shows, all zeros of the declared size.
 */
import { WASM_PAGE_BYTES } from '../limits.js';

/** Spare memories a worker keeps (each the size a module declared, most a few pages). */
export const SPARE_MEMORIES_MAX = 4;
/** A memory larger than this is not kept: zeroing it would cost more than a fresh one. */
export const SPARE_MEMORY_BYTES_MAX = 4 * 1024 * 1024;

interface Spare {
  readonly initialPages: number;
  readonly maximumPages: number;
  readonly memory: WebAssembly.Memory;
}

export class SpareMemories {
  private readonly spares: Spare[] = [];

  /** A zeroed memory of exactly this shape, or undefined. */
  take(initialPages: number, maximumPages: number): WebAssembly.Memory | undefined {
    const index = this.spares.findIndex(
      (spare) => spare.initialPages === initialPages && spare.maximumPages === maximumPages,
    );
    if (index < 0) return undefined;
    return this.spares.splice(index, 1)[0]!.memory;
  }

  /** Keeps a memory no code will touch again, if it still has its initial size. */
  give(memory: WebAssembly.Memory, initialPages: number, maximumPages: number): void {
    const bytes = memory.buffer.byteLength;
    if (bytes !== initialPages * WASM_PAGE_BYTES || bytes > SPARE_MEMORY_BYTES_MAX) return;
    if (this.spares.length >= SPARE_MEMORIES_MAX) return;
    new Uint8Array(memory.buffer).fill(0);
    this.spares.push({ initialPages, maximumPages, memory });
  }

  get size(): number {
    return this.spares.length;
  }
}
