/**
 * The contract between an instrumented core module and the host that runs it.
 * Every instrumented module imports these from one import module, so the
 * several core modules of one component can share one fuel counter.
 * docs/FUEL.md describes the accounting.
 */

/** The import module every name below lives in. */
export const LIMITS_IMPORT_MODULE = 'wasmos';

/** `(global (mut i64))`: the REMAINING fuel; set before the run, read after. */
export const FUEL_GLOBAL_IMPORT = 'fuel';

/**
 * `(func)`: called when a charge would take the remaining fuel below zero,
 * after the global has been set to 0. The host must throw from it (its own
 * error class, so fuel exhaustion is told apart from other traps); the code
 * after the call is `unreachable` in case it returns.
 */
export const OUT_OF_FUEL_IMPORT = 'out_of_fuel';

/** Each memory the module used to define is imported under this name (N = its index). */
export function memoryImportName(memoryIndex: number): string {
  return `memory${memoryIndex}`;
}

/** Each table the module used to define is imported under this name (N = its index). */
export function tableImportName(tableIndex: number): string {
  return `table${tableIndex}`;
}
