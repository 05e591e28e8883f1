/**
 * The messages between the pool (main thread) and a worker. One task at a time per worker; a
 * warm task costs two messages: a run message and a done message that carries the output the
 * task wrote within the output batch interval (context.ts).
 */
import type { GuestArtifact, GuestSpec } from '../guest.js';
import type { TaskLimits } from '../types.js';
import type { OutputStream } from './context.js';
import type { Verdict } from './verdict.js';

/** Given to each worker once, at its start. */
export interface WorkerSetup {
  /**
   * Float64Array over it: fuel consumed and memory bytes of the running task as of its last host
   * call or fuel slice. One per worker: the pool zeroes it before each task.
   */
  readonly progress: SharedArrayBuffer;
}

export interface RunMessage {
  readonly type: 'run';
  readonly taskId: number;
  /**
   * The pool's number for the artifact. A worker keeps the artifacts it was sent (the pool
   * bounds how many and says which to drop), so a module and a component's glue cross to a
   * worker once, not with every task.
   */
  readonly artifactId: number;
  /** Present when this worker does not hold artifactId yet. */
  readonly artifact?: GuestArtifact;
  /** Artifact ids the worker drops before this task (the pool's bound pushed them out). */
  readonly forget: readonly number[];
  readonly spec: GuestSpec;
  readonly limits: TaskLimits;
  /** ExecutorLimits.fuelSliceUnits */
  readonly fuelSliceUnits: number;
}

export interface OutputChunk {
  readonly stream: OutputStream;
  readonly bytes: Uint8Array;
  /** The cap was reached with this write: what follows is dropped. */
  readonly truncated: boolean;
}

export interface OutputMessage extends OutputChunk {
  readonly type: 'output';
  readonly taskId: number;
}

export interface DoneMessage {
  readonly type: 'done';
  readonly taskId: number;
  readonly verdict: Verdict;
  readonly fuelConsumed: number;
  readonly peakMemoryBytes: number;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  /** The output still held when the task ended, in order, after any output messages. */
  readonly output: readonly OutputChunk[];
}

export type WorkerMessage = OutputMessage | DoneMessage;
