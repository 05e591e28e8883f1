/** Instruments a module and instantiates it against a fuel budget, as the executor will. */
import * as assert from 'uvu/assert';
import {
  FUEL_GLOBAL_IMPORT,
  LIMITS_IMPORT_MODULE,
  MEMORY_GROW_RESULT_IMPORT,
  OUT_OF_FUEL_IMPORT,
  instrumentModule,
  type FuelStrategy,
  type InstrumentOptions,
  type InstrumentedModule,
} from '../../../wasi-executor/instrument/index.js';

export class OutOfFuel extends Error {
  override readonly name = 'OutOfFuel';
}

export interface Metered {
  readonly metadata: InstrumentedModule;
  readonly module: WebAssembly.Module;
}

/** A strategy (with the default passing, or `options` for anything else). */
export function instrumentOrFail(
  bytes: Uint8Array,
  variant: FuelStrategy | InstrumentOptions = 'auto',
): Metered {
  const options = typeof variant === 'string' ? { fuelStrategy: variant } : variant;
  const result = instrumentModule(bytes, options);
  if (!result.ok) throw new Error(`instrumentation failed: ${JSON.stringify(result.error)}`);
  return { metadata: result.value, module: new WebAssembly.Module(result.value.bytes) };
}

export interface MeteredInstance {
  readonly instance: WebAssembly.Instance;
  readonly fuel: WebAssembly.Global;
  readonly memories: Record<string, WebAssembly.Memory>;
  /** budget − remaining */
  consumed(): bigint;
}

export function instantiate(
  metered: Metered,
  budget: bigint,
  options: {
    memoryPagesMax?: number;
    imports?: WebAssembly.Imports;
    /** Overrides of the limit imports (a host that refills fuel, counts failed grows). */
    wasmos?: Record<string, WebAssembly.ImportValue>;
  } = {},
): MeteredInstance {
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, budget);
  const wasmos: Record<string, WebAssembly.ImportValue> = {
    [FUEL_GLOBAL_IMPORT]: fuel,
    // The whole budget is in the global (no slices): exhaustion zeroes it and throws.
    [OUT_OF_FUEL_IMPORT]: () => {
      fuel.value = 0n;
      throw new OutOfFuel('fuel exhausted');
    },
    [MEMORY_GROW_RESULT_IMPORT]: (result: number) => result,
    ...options.wasmos,
  };
  const memories: Record<string, WebAssembly.Memory> = {};
  for (const declared of metered.metadata.memories) {
    const maximum = Math.min(declared.maximumPages ?? 65_536, options.memoryPagesMax ?? 65_536);
    memories[declared.importName] = new WebAssembly.Memory({
      initial: declared.initialPages,
      maximum,
    });
    wasmos[declared.importName] = memories[declared.importName]!;
  }
  for (const declared of metered.metadata.tables) {
    const descriptor = { element: declared.element, initial: declared.initialElements };
    wasmos[declared.importName] = new WebAssembly.Table(
      declared.maximumElements === undefined
        ? descriptor
        : { ...descriptor, maximum: declared.maximumElements },
    );
  }
  const instance = new WebAssembly.Instance(metered.module, {
    ...options.imports,
    [LIMITS_IMPORT_MODULE]: wasmos,
  });
  return { instance, fuel, memories, consumed: () => budget - (fuel.value as bigint) };
}

export function exported<T>(instance: WebAssembly.Instance, exportName: string): T {
  const value = instance.exports[exportName];
  assert.ok(value !== undefined, `export ${exportName}`);
  return value as T;
}
