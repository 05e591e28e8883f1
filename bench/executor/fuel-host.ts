/**
 * A minimal WASI preview1 host for the benchmark kernels only: args, fd_write
 * to a captured buffer, proc_exit, and the few calls wasi-libc makes at start
 * up. The executor's real preview1 host is wasi-executor/preview1/.
 */
import {
  FUEL_GLOBAL_EXPORT,
  FUEL_GLOBAL_IMPORT,
  LIMITS_IMPORT_MODULE,
  MEMORY_GROW_RESULT_IMPORT,
  OUT_OF_FUEL_IMPORT,
  type InstrumentedModule,
} from '../../wasi-executor/instrument/index.js';
import { defaultExecutorLimits } from '../../wasi-executor/limits.js';

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_SPIPE = 70;
const FILETYPE_CHARACTER_DEVICE = 2;

class KernelExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Thrown by the out_of_fuel import. */
export class KernelOutOfFuel extends Error {
  override readonly name = 'KernelOutOfFuel';
}

export interface KernelRun {
  readonly exitCode: number;
  readonly stdout: string;
  /** Remaining fuel after the run (instrumented runs only). */
  readonly fuelRemaining: bigint | undefined;
  readonly outOfFuel: boolean;
  readonly durationMs: number;
  /** CPU time of the process during the run (the guest runs on this thread; no waiting for a core). */
  readonly cpuMs: number;
}

export interface KernelLimits {
  readonly metadata: InstrumentedModule;
  readonly fuel: bigint;
  /** Caps every imported memory at this many pages. */
  readonly memoryPagesMax: number;
}

function preview1(args: readonly string[], getMemory: () => WebAssembly.Memory, output: number[]) {
  const encoded = args.map((arg) => new TextEncoder().encode(arg + '\0'));
  const view = (): DataView => new DataView(getMemory().buffer);
  return {
    args_sizes_get(countPointer: number, sizePointer: number): number {
      view().setUint32(countPointer, encoded.length, true);
      view().setUint32(
        sizePointer,
        encoded.reduce((sum, arg) => sum + arg.length, 0),
        true,
      );
      return ERRNO_SUCCESS;
    },
    args_get(argvPointer: number, bufferPointer: number): number {
      const bytes = new Uint8Array(getMemory().buffer);
      let cursor = bufferPointer;
      encoded.forEach((arg, index) => {
        view().setUint32(argvPointer + index * 4, cursor, true);
        bytes.set(arg, cursor);
        cursor += arg.length;
      });
      return ERRNO_SUCCESS;
    },
    fd_write(fd: number, iovs: number, iovCount: number, writtenPointer: number): number {
      if (fd !== 1 && fd !== 2) return ERRNO_BADF;
      const bytes = new Uint8Array(getMemory().buffer);
      let written = 0;
      for (let index = 0; index < iovCount; index++) {
        const pointer = view().getUint32(iovs + index * 8, true);
        const length = view().getUint32(iovs + index * 8 + 4, true);
        for (const byte of bytes.subarray(pointer, pointer + length)) output.push(byte);
        written += length;
      }
      view().setUint32(writtenPointer, written, true);
      return ERRNO_SUCCESS;
    },
    fd_fdstat_get(fd: number, statPointer: number): number {
      if (fd > 2) return ERRNO_BADF;
      new Uint8Array(getMemory().buffer).fill(0, statPointer, statPointer + 24);
      view().setUint8(statPointer, FILETYPE_CHARACTER_DEVICE);
      return ERRNO_SUCCESS;
    },
    fd_seek: (): number => ERRNO_SPIPE,
    fd_close: (): number => ERRNO_SUCCESS,
    proc_exit(code: number): never {
      throw new KernelExit(code);
    },
  };
}

/** Runs `_start` of a kernel module once; instrumented modules need `limits`. */
export function runKernel(
  module: WebAssembly.Module,
  args: readonly string[],
  limits?: KernelLimits,
): KernelRun {
  const output: number[] = [];
  const exported: { memory?: WebAssembly.Memory } = {};
  const imports: WebAssembly.Imports = {
    wasi_snapshot_preview1: preview1(args, () => exported.memory!, output),
  };
  let fuelRemaining: (() => bigint) | undefined;
  let counter: ((own: WebAssembly.Global) => void) | undefined;
  let outOfFuel = false;
  if (limits !== undefined) {
    // Handed out in slices as the executor does (worker/context.ts): one host call per slice.
    const slice = BigInt(defaultExecutorLimits.fuelSliceUnits);
    // The module's own exported counter once instantiated (fuelCounter 'exported'), else this one.
    let global: WebAssembly.Global = new WebAssembly.Global(
      { value: 'i64', mutable: true },
      limits.fuel < slice ? limits.fuel : slice,
    );
    counter = (own) => {
      own.value = global.value;
      global = own;
    };
    let reserve = limits.fuel - (global.value as bigint);
    fuelRemaining = () => reserve + (global.value as bigint);
    const wasmos: Record<string, WebAssembly.ImportValue> = {
      [FUEL_GLOBAL_IMPORT]: global,
      [OUT_OF_FUEL_IMPORT]: () => {
        const available = reserve + (global.value as bigint);
        if (available < 0n) {
          reserve = 0n;
          global.value = 0n;
          outOfFuel = true;
          throw new KernelOutOfFuel('out of fuel');
        }
        const grant = available < slice ? available : slice;
        reserve = available - grant;
        global.value = grant;
      },
      [MEMORY_GROW_RESULT_IMPORT]: (result: number) => result,
    };
    for (const declared of limits.metadata.memories) {
      const maximum = Math.min(declared.maximumPages ?? 65_536, limits.memoryPagesMax);
      wasmos[declared.importName] = new WebAssembly.Memory({
        initial: declared.initialPages,
        maximum,
      });
    }
    for (const declared of limits.metadata.tables) {
      const descriptor = { element: declared.element, initial: declared.initialElements };
      wasmos[declared.importName] = new WebAssembly.Table(
        declared.maximumElements === undefined
          ? descriptor
          : { ...descriptor, maximum: declared.maximumElements },
      );
    }
    imports[LIMITS_IMPORT_MODULE] = wasmos;
  }
  const instance = new WebAssembly.Instance(module, imports);
  exported.memory = instance.exports['memory'] as WebAssembly.Memory;
  const own = instance.exports[FUEL_GLOBAL_EXPORT];
  if (limits?.metadata.fuelCounter === 'exported') {
    if (!(own instanceof WebAssembly.Global))
      throw new Error('the exported fuel counter is missing');
    counter!(own);
  }
  const start = instance.exports['_start'] as () => void;
  const startedMs = performance.now();
  const startedCpu = process.cpuUsage();
  let exitCode = 0;
  try {
    start();
  } catch (error) {
    if (error instanceof KernelExit) exitCode = error.exitCode;
    else if (!(error instanceof KernelOutOfFuel)) throw error;
    else exitCode = -1;
  }
  const durationMs = performance.now() - startedMs;
  const cpu = process.cpuUsage(startedCpu);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    exitCode,
    stdout: new TextDecoder().decode(new Uint8Array(output)),
    fuelRemaining: fuelRemaining?.(),
    outOfFuel,
    durationMs,
  };
}
