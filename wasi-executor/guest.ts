/**
 * The contract between the worker and a guest runner (the preview1 host in
 * wasi-executor/preview1/, the component host in wasi-executor/component/).
 * A runner gets an artifact compiled once in the main thread and a
 * GuestContext built fresh for each task; it returns a GuestOutcome or
 * throws. The worker classifies what was thrown (GuestExit, the fuel error,
 * a wasm trap, a stack overflow), so runners need no error handling of
 * their own beyond mapping the guest's exit onto GuestExit.
 */
import type { Preopen } from './types.js';

/** What the guest may see and touch; plain data, so it crosses postMessage. */
export interface GuestSpec {
  readonly programName: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array;
  readonly preopens: readonly Preopen[];
  readonly netAllow: readonly string[];
  readonly handlerInput: Uint8Array | undefined;
}

/**
 * A guest granted nothing: no arguments, environment, input, files or network. What probes of
 * the host (and tests and benches that change only what they look at) start from, so a new
 * GuestSpec field is defaulted in one place.
 */
export function bareGuestSpec(programName: string, changes: Partial<GuestSpec> = {}): GuestSpec {
  return {
    programName,
    args: [],
    env: {},
    stdin: new Uint8Array(0),
    preopens: [],
    netAllow: [],
    handlerInput: undefined,
    ...changes,
  };
}

/**
 * What the instrumenter moved out of a core module into "wasmos" imports:
 * the memories and tables it used to define, with their declared limits.
 * The host creates them per task (memories capped by the task's limit).
 */
export interface LimitPlan {
  readonly memories: ReadonlyArray<{
    readonly importName: string;
    readonly initialPages: number;
    readonly maximumPages: number | undefined;
    /** A shared memory (threads proposal); absent means not shared. */
    readonly shared?: boolean;
  }>;
  readonly tables: ReadonlyArray<{
    readonly importName: string;
    readonly element: 'anyfunc' | 'externref';
    readonly initial: number;
    readonly maximum: number | undefined;
  }>;
  /** Whether the module imports the fuel global and out_of_fuel (false: not instrumented). */
  readonly metered: boolean;
}

/** Compiled once in the main thread; WebAssembly.Module survives postMessage. */
export type GuestArtifact =
  | {
      readonly kind: 'preview1';
      readonly module: WebAssembly.Module;
      readonly limits: LimitPlan;
    }
  | {
      readonly kind: 'component';
      /** The world the component targets, as the component path names it. */
      readonly world: 'command' | 'handler';
      /** The glue jco generated (instantiation "async"), patched by component/glue.ts into a function body. */
      readonly glueSource: string;
      /** Core modules by the file name the glue asks `getCoreModule` for. */
      readonly coreModules: Readonly<Record<string, WebAssembly.Module>>;
      /** The limit plan of each core module, by the same names. */
      readonly limits: Readonly<Record<string, LimitPlan>>;
    };

/** A byte-capped output stream: writes past the cap are dropped and remembered. */
export interface OutputSink {
  /** Always accepts the whole write from the guest's point of view. */
  write(bytes: Uint8Array): void;
  readonly bytesWritten: number;
  readonly truncated: boolean;
}

/** The "wasmos" import module an instrumented core module needs. */
export type LimitImports = Record<
  string,
  | WebAssembly.Global
  | WebAssembly.Memory
  | WebAssembly.Table
  | (() => void)
  | ((result: number) => number)
>;

export interface GuestContext {
  readonly spec: GuestSpec;
  readonly stdout: OutputSink;
  readonly stderr: OutputSink;
  /** Remaining fuel of the current slice, `(mut i64)`, shared by every core instance of the task. */
  readonly fuel: WebAssembly.Global;
  readonly memoryBytesMax: number;
  /**
   * Builds `{ fuel, out_of_fuel, memory_grow_result, memory0, table0, … }` for one instrumented
   * core module: the memories it imports are created here (capped), and
   * counted for peak memory and the memory_limit verdict.
   */
  limitImports(plan: LimitPlan): LimitImports;
  /** Counts a memory the host did not create (a module that was not instrumented). */
  trackMemory(memory: WebAssembly.Memory): void;
  /** Records fuel used and memory size so far: what a timeout or kill reports. Cheap. */
  recordProgress(): void;
  /** Sends held output now (context.ts holds a task's first writes): a host calls it before blocking. */
  flushOutput?(): void;
}

/** How a guest ended when it did not trap: a command exits, a handler returns. */
export type GuestOutcome =
  | { readonly kind: 'exited'; readonly exitCode: number }
  | { readonly kind: 'returned'; readonly output: Uint8Array }
  /** The handler returned its error variant; the task exits 1 with this message. */
  | { readonly kind: 'handler_error'; readonly message: string };

/** Thrown by a host's exit import (proc_exit, wasi:cli/exit) to unwind the guest. */
export class GuestExit extends Error {
  override readonly name = 'GuestExit';
  constructor(readonly exitCode: number) {
    super(`guest exited with ${exitCode}`);
  }
}

/** Thrown by a runner when instantiation itself fails (a LinkError, a missing export): reason instantiation_failed. */
export class InstantiationFailure extends Error {
  override readonly name = 'InstantiationFailure';
}

/**
 * The component path plugs in here: wasi-executor/component/run.ts exports
 * `runComponent: GuestRunner<Extract<GuestArtifact, { kind: 'component' }>>`,
 * which the worker loads when it first meets a component artifact.
 */
export type GuestRunner<A extends GuestArtifact = GuestArtifact> = (
  artifact: A,
  context: GuestContext,
) => Promise<GuestOutcome>;
