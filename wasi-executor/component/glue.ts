/**
 * jco's generated glue, made cheap to run once per task and loadable without
 * the module loader. Pure text transformations, done once in prepare:
 *
 * - `WebAssembly.promising(f)` inside try/catch throws on every instantiation
 *   on Node 20 (no JSPI), and building that error makes V8 re-parse the huge
 *   instantiate function: about 2 ms per task. A `typeof` guard avoids it.
 * - `_debugLog` reads `process.env.JCO_DEBUG` on every host call; we never
 *   want jco's debug output from a guest, so the check becomes a constant.
 * - The ES module becomes a function body returning `instantiate`: the
 *   worker builds it with `new Function`, so glue of a component evicted from
 *   the caches is garbage like any other value (an imported module never is).
 */
import { assert } from '../../lib/assert.js';

/** Bumped whenever the patches change, so cached prepared components are redone. */
export const gluePatchVersion = 1;

const promisingTry =
  /try \{\s*([\w$]+) = WebAssembly\.promising\(([\w$.]+)\);\s*\} catch\s*\(\w+\)\s*\{\s*\1 = \2;\s*\}/g;
const debugCheck = '!globalThis?.process?.env?.JCO_DEBUG';

export function patchGlue(source: string): string {
  let patched = source.replace(
    promisingTry,
    (_match, target: string, fn: string) =>
      `${target} = typeof WebAssembly.promising === 'function' ? WebAssembly.promising(${fn}) : ${fn};`,
  );
  patched = patched.split(debugCheck).join('true');
  patched = patched.replace(/^export (function|const|let|class) /gm, '$1 ');
  // Reached only when getCoreModule is missing; the runner always passes it.
  patched = patched.split('import.meta.url').join("'file:///'");
  assert(!/^import /m.test(patched), 'instantiation "async" glue has no static imports');
  assert(/^function instantiate\(/m.test(patched), 'the glue defines instantiate');
  return `${patched}\nreturn instantiate;\n`;
}

/** One core instance as jco's glue uses it: only `exports` is read. */
export interface CoreInstance {
  readonly exports: WebAssembly.Exports;
}

export type InstantiateCore = (
  module: WebAssembly.Module,
  imports?: WebAssembly.Imports,
) => CoreInstance | Promise<CoreInstance>;

/** The glue's `instantiate`: synchronous when every callback is (ours are). */
export type GlueInstantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Readonly<Record<string, unknown>>,
  instantiateCore: InstantiateCore,
) => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>;

export function loadGlue(patchedSource: string): GlueInstantiate {
  // The source is jco's own output for a component that passed prepare, not
  // guest-controlled text: the guest's code is only ever wasm.
  const factory = new Function(patchedSource) as () => GlueInstantiate;
  const instantiate = factory();
  assert(typeof instantiate === 'function', 'patched glue returns instantiate');
  return instantiate;
}

/**
 * The interfaces the glue takes from `imports`, with the members it
 * destructures from each: `const { getStdin } = imports['wasi:cli/stdin'];`.
 */
export function glueImports(source: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const match of source.matchAll(/const \{([^}]*)\} = imports\['([^']+)'\];/g)) {
    const members = match[1]!
      .split(',')
      .map((member) => member.split(':')[0]!.trim())
      .filter((member) => member.length > 0);
    found.set(match[2]!, [...(found.get(match[2]!) ?? []), ...members]);
  }
  return found;
}
