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
 * With `fuelCounter: 'exported'` the module DEFINES its counter, `(mut i64)`
 * initialized to 0, and exports it under this name instead of importing
 * `fuel`: V8 reaches a module's own global with one load fewer than an
 * imported one, which call-heavy code feels (docs/FUEL.md). The host sets it
 * after instantiation and before the first call.
 */
export const FUEL_GLOBAL_EXPORT = 'wasmos:fuel';

/**
 * `(func)`: called when a check finds the counter below zero, with the global
 * holding that (negative) counter. The host either refills the global with a
 * non-negative value and returns (fuel is handed out in slices, so a guest
 * that never calls the host still reaches the host now and then), or sets
 * the global to 0 and throws its own error (fuel exhausted, told apart from
 * other traps). After a return the code reloads the counter from the global.
 */
export const OUT_OF_FUEL_IMPORT = 'out_of_fuel';

/**
 * `(func (param i32) (result i32))`: every `memory.grow` result passes
 * through it (the identity); -1 tells the host a grow failed, so a task that
 * then dies is reported as memory_limit exactly rather than by inference.
 */
export const MEMORY_GROW_RESULT_IMPORT = 'memory_grow_result';

/** Functions the instrumenter imports ahead of the module's own: out_of_fuel, memory_grow_result. */
export const ADDED_FUNCTION_IMPORTS = 2;

/** Each memory the module used to define is imported under this name (N = its index). */
export function memoryImportName(memoryIndex: number): string {
  return `memory${memoryIndex}`;
}

/** Each table the module used to define is imported under this name (N = its index). */
export function tableImportName(tableIndex: number): string {
  return `table${tableIndex}`;
}
