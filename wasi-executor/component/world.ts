/**
 * The worlds a task may target, told apart by what the component exports:
 * `wasi:cli/command` exports `wasi:cli/run@0.2.x`; our function-style
 * `wasmos:handler/handler` (wit/handler.wit) exports the function `handle`.
 */
import { err, ok, type Result } from '../../lib/result.js';
import { ExecutorError } from '../types.js';

export type ComponentWorld = 'command' | 'handler';

const runExport = /^wasi:cli\/run@0\.2\.\d+$/;

export function worldOf(
  exports: readonly (readonly [string, 'function' | 'instance'])[],
): Result<ComponentWorld, ExecutorError> {
  if (exports.some(([name, kind]) => kind === 'instance' && runExport.test(name)))
    return ok('command');
  if (exports.some(([name, kind]) => kind === 'function' && name === 'handle'))
    return ok('handler');
  const names = exports.map(([name]) => name).join(', ') || 'nothing';
  return err(
    new ExecutorError(
      'unsupported_world',
      `component exports ${names}: expected wasi:cli/run@0.2.x (wasi:cli/command) or handle (wasmos:handler/handler)`,
    ),
  );
}

/** `wasi:cli/stdin@0.2.3` → `wasi:cli/stdin`: the host serves every 0.2.x version. */
export function interfaceName(key: string): string {
  const at = key.indexOf('@');
  return at === -1 ? key : key.slice(0, at);
}

/** Finds the run export in what the glue's instantiate returned. */
export function runExportOf(
  exports: Readonly<Record<string, unknown>>,
): { run(): void } | undefined {
  for (const [name, value] of Object.entries(exports)) {
    if (runExport.test(name)) return value as { run(): void };
  }
  return undefined;
}
