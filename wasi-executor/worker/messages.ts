/** The messages between the pool (main thread) and a worker. One task at a time per worker. */
import type { GuestArtifact, GuestSpec } from '../guest.js';
import type { TaskLimits } from '../types.js';
import type { OutputStream } from './context.js';
import type { Verdict } from './verdict.js';

export interface RunMessage {
  readonly type: 'run';
  readonly taskId: number;
  readonly artifact: GuestArtifact;
  readonly spec: GuestSpec;
  readonly limits: TaskLimits;
  /** Float64Array over it: fuel consumed and memory bytes as of the last host call or fuel slice. */
  readonly progress: SharedArrayBuffer;
  /** ExecutorLimits.fuelSliceUnits */
  readonly fuelSliceUnits: number;
}

export interface OutputMessage {
  readonly type: 'output';
  readonly taskId: number;
  readonly stream: OutputStream;
  readonly bytes: Uint8Array;
  /** The cap was reached with this write: what follows is dropped. */
  readonly truncated: boolean;
}

export interface DoneMessage {
  readonly type: 'done';
  readonly taskId: number;
  readonly verdict: Verdict;
  readonly fuelConsumed: number;
  readonly peakMemoryBytes: number;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
}

export type WorkerMessage = OutputMessage | DoneMessage;
