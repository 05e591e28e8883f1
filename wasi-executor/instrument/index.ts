/**
 * Fuel metering and memory/table caps for WebAssembly core modules.
 *
 *   const result = instrumentModule(bytes);
 *   if (!result.ok) return reject(result.error);        // typed, never thrown
 *   const module = new WebAssembly.Module(result.value.bytes);
 *   // imports.wasmos = { fuel, out_of_fuel, memory_grow_result, memory0, ... } (see abi.ts, docs/FUEL.md)
 *
 * Pure: no I/O, no global state; safe to call on hostile bytes.
 */
import { performance } from 'node:perf_hooks';
import { err, ok, type Result } from '../../lib/result.js';
import type { FuelStrategy } from './body.js';
import { ParseFailure, type InstrumentError } from './errors.js';
import { NeedsGlobalPassing } from './body.js';
import {
  ModuleRewriter,
  type FuelCounter,
  type FuelPassing,
  type MemoryImport,
  type TableImport,
} from './module.js';

export {
  FUEL_GLOBAL_EXPORT,
  FUEL_GLOBAL_IMPORT,
  LIMITS_IMPORT_MODULE,
  MEMORY_GROW_RESULT_IMPORT,
  OUT_OF_FUEL_IMPORT,
  memoryImportName,
  tableImportName,
} from './abi.js';
export type { FuelStrategy } from './body.js';
export type { InstrumentError, InstrumentErrorCode } from './errors.js';
export type { FuelCounter, FuelPassing, MemoryImport, TableImport } from './module.js';

/** Largest module accepted by default (a componentize-js component's core module is ~10 MB). */
export const MODULE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

export interface InstrumentOptions {
  /** Refuse larger inputs with `too_large`. Default MODULE_BYTES_MAX_DEFAULT. */
  readonly moduleBytesMax?: number;
  /** Where functions keep the counter; 'auto' (the default) is the fastest measured. */
  readonly fuelStrategy?: FuelStrategy;
  /** 'imported' (the default) or 'exported': see FuelCounter; the result says which one was used. */
  readonly fuelCounter?: FuelCounter;
  /** 'arguments' (the default) or 'global': see FuelPassing; the summary says which one was used. */
  readonly fuelPassing?: FuelPassing;
}

export interface InstrumentSummary {
  readonly functions: number;
  /** Loop headers that got a charge and a check. */
  readonly loops: number;
  /** Straight-line regions charged (function entries included). */
  readonly regions: number;
  readonly localModeFunctions: number;
  readonly globalModeFunctions: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly durationMs: number;
  /** Custom sections left out because they were malformed (only a bad "name" section is). */
  readonly droppedCustomSections: readonly string[];
}

export interface InstrumentedModule {
  /** The instrumented binary; compile it with `new WebAssembly.Module`. */
  readonly bytes: Uint8Array;
  /** Memories the module used to define, now imported from the limits import module. */
  readonly memories: readonly MemoryImport[];
  /** Tables the module used to define, now imported likewise. */
  readonly tables: readonly TableImport[];
  /** 'exported': set and read the module's `wasmos:fuel` export instead of importing `wasmos.fuel`. */
  readonly fuelCounter: FuelCounter;
  /** 'global' when asked, or when the module has a tail call the arguments cannot express. */
  readonly fuelPassing: FuelPassing;
  readonly summary: InstrumentSummary;
}

export function instrumentModule(
  bytes: Uint8Array,
  options: InstrumentOptions = {},
): Result<InstrumentedModule, InstrumentError> {
  const moduleBytesMax = options.moduleBytesMax ?? MODULE_BYTES_MAX_DEFAULT;
  if (bytes.length > moduleBytesMax) {
    return err({
      code: 'too_large',
      section: 'header',
      offset: 0,
      message: `module is ${bytes.length} bytes, the limit is ${moduleBytesMax}`,
    });
  }
  const startedMs = performance.now();
  try {
    const rewrite = (passing: FuelPassing) =>
      new ModuleRewriter(
        bytes,
        options.fuelStrategy ?? 'auto',
        options.fuelCounter ?? 'imported',
        passing,
      ).run();
    let rewritten;
    try {
      rewritten = rewrite(options.fuelPassing ?? 'arguments');
    } catch (error) {
      if (!(error instanceof NeedsGlobalPassing)) throw error;
      rewritten = rewrite('global');
    }
    return ok({
      bytes: rewritten.bytes,
      memories: rewritten.memories,
      tables: rewritten.tables,
      fuelCounter: rewritten.fuelCounter,
      fuelPassing: rewritten.fuelPassing,
      summary: {
        ...rewritten.stats,
        bytesIn: bytes.length,
        bytesOut: rewritten.bytes.length,
        durationMs: performance.now() - startedMs,
        droppedCustomSections: rewritten.droppedCustomSections,
      },
    });
  } catch (error) {
    if (!(error instanceof ParseFailure)) throw error;
    return err({
      code: error.code,
      section: error.section,
      offset: error.offset,
      message: error.message,
    });
  }
}
