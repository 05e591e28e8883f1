/**
 * The executor's public vocabulary: what a task asks for (TaskSpec), what it
 * ends with (TaskResult), and the typed errors of preparing and queueing.
 */
import { WasmosError } from '../lib/errors.js';

/** Why a task ended, or why it never started (the last three). */
export type TaskReason =
  | 'exited'
  | 'trap'
  | 'fuel_exhausted'
  | 'memory_limit'
  | 'timeout'
  | 'stack_overflow'
  | 'killed'
  | 'invalid_wasm'
  | 'missing_import'
  | 'instantiation_failed';

/** A host directory the guest sees at `guestPath`; writes only when `writable`. */
export interface Preopen {
  readonly hostPath: string;
  readonly guestPath: string;
  readonly writable: boolean;
}

/** Per-task limits; every field has a default in limits.ts. */
export interface TaskLimits {
  /** Instruction budget (see docs/FUEL.md for what one unit is). */
  readonly fuel: number;
  /** Cap on the bytes of the instance's linear memories. */
  readonly memoryBytesMax: number;
  /** Wall clock from the start of the run; past it the worker is terminated. */
  readonly timeoutMs: number;
  readonly stdoutBytesMax: number;
  readonly stderrBytesMax: number;
}

export interface TaskSpec {
  /** argv[0] as the guest sees it. */
  readonly programName?: string;
  /** Arguments after the program name. */
  readonly args?: readonly string[];
  /** The guest's whole environment; never the host's. */
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: Uint8Array;
  readonly preopens?: readonly Preopen[];
  /** `host:port` patterns the guest may connect to (`*` wildcards); empty denies all. */
  readonly netAllow?: readonly string[];
  /** Input bytes for a function-style `handler` component. */
  readonly handlerInput?: Uint8Array;
  readonly limits?: Partial<TaskLimits>;
}

export interface TaskResult {
  /** null when the guest did not exit by itself (trap, limit, timeout, kill). */
  readonly exitCode: number | null;
  readonly reason: TaskReason;
  /** One human-readable line: the exit status, the trap message, or which limit. */
  readonly message: string;
  readonly fuelConsumed: number;
  /** Linear memories never shrink: their total size when the task ended. */
  readonly peakMemoryBytes: number;
  readonly durationMs: number;
  /** Captured output, up to the caps (also streamed through the run callbacks). */
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  /** What a `handler` component returned, when it returned bytes. */
  readonly handlerOutput?: Uint8Array;
}

export type ExecutorErrorCode =
  | 'invalid_wasm'
  | 'missing_import'
  | 'instantiation_failed'
  | 'unsupported_world'
  | 'queue_full'
  | 'closed'
  | 'invalid_spec'
  /** The prepare worker died or overran prepareTimeoutMs while preparing this binary. */
  | 'prepare_failed';

/** An operating error of the executor (never a task's own failure, which is a TaskResult). */
export class ExecutorError extends WasmosError {
  constructor(
    override readonly code: ExecutorErrorCode,
    message: string,
    details?: Readonly<Record<string, unknown>>,
  ) {
    super(code, message, details);
  }
}
