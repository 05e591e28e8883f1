import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { glueImports, loadGlue, patchGlue } from '../../../wasi-executor/component/glue.js';

const glue = `"use components";
export function instantiate(getCoreModule, imports, instantiateCore = WebAssembly.instantiate) {
  const _debugLog = (...args) => {
    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }
    console.debug(...args);
  };
  if (!getCoreModule) getCoreModule = (name) => new URL(name, import.meta.url);
  const { getStdin } = imports['wasi:cli/stdin'];
  const { Error: Error$1 } = imports['wasi:io/error'];
  const { Descriptor, filesystemErrorCode } = imports['wasi:filesystem/types'];
  let realloc0Async;
  const exports2 = { cabi_import_realloc: () => 7 };
  try {
    realloc0Async = WebAssembly.promising(exports2.cabi_import_realloc);
  } catch(err) {
    realloc0Async = exports2.cabi_import_realloc;
  }
  _debugLog('never printed');
  return { realloc0Async, getStdin, Error$1, Descriptor, filesystemErrorCode };
}
export const _util = {};
`;

test('the patched glue guards WebAssembly.promising instead of catching its error', () => {
  const patched = patchGlue(glue);
  assert.not.match(patched, /try \{\s*realloc0Async/);
  assert.match(patched, "typeof WebAssembly.promising === 'function'");
});

test('the patched glue no longer reads JCO_DEBUG, import.meta or exports', () => {
  const patched = patchGlue(glue);
  assert.not.match(patched, 'JCO_DEBUG');
  assert.not.match(patched, 'import.meta');
  assert.not.match(patched, /^export /m);
});

test('loaded glue instantiates with the imports it is given', () => {
  const instantiate = loadGlue(patchGlue(glue));
  const imports = {
    'wasi:cli/stdin': { getStdin: 'stdin' },
    'wasi:io/error': { Error: 'error class' },
    'wasi:filesystem/types': { Descriptor: 'descriptor', filesystemErrorCode: 'code' },
  };
  const exports = instantiate(
    () => undefined as never,
    imports,
    () => ({ exports: {} }),
  );
  assert.equal(exports, {
    realloc0Async: (exports as { realloc0Async: unknown }).realloc0Async,
    getStdin: 'stdin',
    Error$1: 'error class',
    Descriptor: 'descriptor',
    filesystemErrorCode: 'code',
  });
  assert.is(typeof (exports as { realloc0Async: unknown }).realloc0Async, 'function');
});

test('glueImports lists each interface with the members the glue takes', () => {
  assert.equal(
    [...glueImports(glue)],
    [
      ['wasi:cli/stdin', ['getStdin']],
      ['wasi:io/error', ['Error']],
      ['wasi:filesystem/types', ['Descriptor', 'filesystemErrorCode']],
    ],
  );
});

test.run();
