/** The pure checks of prepare: what kind of binary this is, and whether we provide all it imports. */
import { err, ok, type Result } from '../lib/result.js';
import { ExecutorError } from './types.js';

export type BinaryKind = 'core' | 'component';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const CORE_VERSION = [0x01, 0x00, 0x00, 0x00];
/** A component's header: version 0x0d (pre-standard, as wasm-tools writes it) and layer 1. */
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];

function startsWith(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  return expected.every((byte, index) => bytes[at + index] === byte);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

/** Tells a core module from a component by the 8-byte header; anything else is invalid_wasm. */
export function detectBinaryKind(bytes: Uint8Array): Result<BinaryKind, ExecutorError> {
  if (bytes.length < 8 || !startsWith(bytes, 0, WASM_MAGIC)) {
    const seen = hex(bytes.subarray(0, 4));
    return err(
      new ExecutorError(
        'invalid_wasm',
        `not a WebAssembly binary: it does not start with the magic bytes "\\0asm" (got ${seen || 'nothing'})`,
      ),
    );
  }
  if (startsWith(bytes, 4, CORE_VERSION)) return ok('core');
  if (startsWith(bytes, 4, COMPONENT_VERSION)) return ok('component');
  const version = hex(bytes.subarray(4, 8));
  return err(
    new ExecutorError(
      'invalid_wasm',
      `unknown WebAssembly version/layer ${version}: neither a core module nor a component`,
    ),
  );
}

/** Every function of wasi_snapshot_preview1 our host implements. */
export const PREVIEW1_FUNCTIONS: ReadonlySet<string> = new Set([
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
]);

export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  readonly kind: string;
}

/**
 * A preview1 module may import only preview1 functions (and, once instrumented,
 * the limits module the host provides). Names the first import we do not provide.
 */
export function checkPreview1Imports(
  imports: readonly ModuleImport[],
  limitsModule: string,
): Result<void, ExecutorError> {
  for (const entry of imports) {
    if (entry.module === limitsModule) continue;
    const provided =
      entry.module === 'wasi_snapshot_preview1' &&
      entry.kind === 'function' &&
      PREVIEW1_FUNCTIONS.has(entry.name);
    if (!provided) {
      return err(
        new ExecutorError(
          'missing_import',
          `the module imports ${entry.kind} "${entry.module}" "${entry.name}", which this executor does not provide`,
          { module: entry.module, name: entry.name, kind: entry.kind },
        ),
      );
    }
  }
  return ok(undefined);
}

/** A command must export `_start` and its memory; a reactor or library is not runnable here. */
export function checkPreview1Exports(
  exports: ReadonlyArray<{ readonly name: string; readonly kind: string }>,
): Result<void, ExecutorError> {
  const has = (name: string, kind: string) =>
    exports.some((entry) => entry.name === name && entry.kind === kind);
  if (!has('_start', 'function')) {
    return err(
      new ExecutorError(
        'unsupported_world',
        'the module is not a WASI command: it exports no "_start" function',
      ),
    );
  }
  if (!has('memory', 'memory')) {
    return err(
      new ExecutorError(
        'unsupported_world',
        'the module exports no memory named "memory", which WASI needs',
      ),
    );
  }
  return ok(undefined);
}
