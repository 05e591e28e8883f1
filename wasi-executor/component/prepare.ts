/**
 * prepare: component bytes → everything a worker needs to run it, with no
 * per-task state. Pure CPU (jco's transpile runs wasm-tools in wasm), and
 * the result is plain data (strings and bytes), so the runtime can cache it
 * in memory and on disk keyed by digest and `componentToolVersions`.
 *
 * Anything we cannot run is refused here, before any task: not a component,
 * a malformed one, a world we do not host, an import we do not provide.
 */
import { transpile } from '@bytecodealliance/jco';
import { err, ok, type Result } from '../../lib/result.js';
import type { LimitPlan } from '../guest.js';
import { ExecutorError } from '../types.js';
import { binaryKind } from './binary.js';
import { glueImports, patchGlue } from './glue.js';
import { hostedInterfaces } from './host/index.js';
import { interfaceName, worldOf, type ComponentWorld } from './world.js';

/** The file name jco gives the glue for `name: 'component'`. */
const glueFileName = 'component.js';

export interface PreparedComponent {
  readonly world: ComponentWorld;
  /** jco's glue, patched (see glue.ts): a function body returning `instantiate`. */
  readonly glueSource: string;
  /** Core modules by the file name the glue asks for, instrumented. */
  readonly coreModules: Readonly<Record<string, Uint8Array>>;
  /** What instrumentation moved into "wasmos" imports, by the same names. */
  readonly limits: Readonly<Record<string, LimitPlan>>;
  /** The interfaces the component imports, as the glue names them. */
  readonly imports: readonly string[];
}

export interface InstrumentedCoreModule {
  readonly bytes: Uint8Array;
  readonly limits: LimitPlan;
}

/** Rewrites one core module (fuel metering, memory cap); an error message refuses it. */
export type CoreModuleInstrumenter = (
  name: string,
  bytes: Uint8Array,
) => Result<InstrumentedCoreModule, string>;

/** Leaves a module as it is: no fuel metering, memories counted but not capped by the host. */
export const passThrough: CoreModuleInstrumenter = (_name, bytes) =>
  ok({ bytes, limits: { memories: [], tables: [], metered: false } });

export interface PrepareOptions {
  readonly instrument: CoreModuleInstrumenter;
}

export async function prepareComponent(
  bytes: Uint8Array,
  options: PrepareOptions,
): Promise<Result<PreparedComponent, ExecutorError>> {
  const kind = binaryKind(bytes);
  if (kind !== 'component') {
    const what = kind === 'module' ? 'a core module, not a component' : 'not a WebAssembly binary';
    return err(new ExecutorError('invalid_wasm', `cannot prepare as a component: ${what}`));
  }
  let transpiled: Awaited<ReturnType<typeof transpile>>;
  try {
    transpiled = await transpile(bytes, {
      name: 'component',
      instantiation: 'async',
      noTypescript: true,
      quiet: true,
    });
  } catch (error) {
    return err(new ExecutorError('invalid_wasm', `invalid component: ${messageOf(error)}`));
  }
  const world = worldOf(transpiled.exports);
  if (!world.ok) return err(world.error);
  const glue = transpiled.files[glueFileName];
  if (glue === undefined) {
    return err(new ExecutorError('invalid_wasm', 'jco produced no glue for this component'));
  }
  const glueText = new TextDecoder().decode(glue);
  const missing = missingImports(glueImports(glueText));
  if (missing.length > 0) {
    return err(
      new ExecutorError(
        'missing_import',
        `component imports what the host does not provide: ${missing.join(', ')}`,
        {
          missing,
        },
      ),
    );
  }
  const coreModules: Record<string, Uint8Array> = {};
  const limits: Record<string, LimitPlan> = {};
  for (const [name, file] of Object.entries(transpiled.files)) {
    if (!name.endsWith('.wasm')) continue;
    const instrumented = options.instrument(name, file);
    if (!instrumented.ok) {
      return err(new ExecutorError('invalid_wasm', `core module ${name}: ${instrumented.error}`));
    }
    coreModules[name] = instrumented.value.bytes;
    limits[name] = instrumented.value.limits;
  }
  return ok({
    world: world.value,
    glueSource: patchGlue(glueText),
    coreModules,
    limits,
    imports: [...glueImports(glueText).keys()],
  });
}

/** `interface#member` for each member the glue takes that the host lacks (whole interfaces by name). */
export function missingImports(wanted: ReadonlyMap<string, readonly string[]>): string[] {
  const hosted = hostedInterfaces();
  const missing: string[] = [];
  for (const [key, members] of wanted) {
    const provided = hosted.get(interfaceName(key));
    if (provided === undefined) {
      missing.push(key);
      continue;
    }
    for (const member of members) if (!provided.has(member)) missing.push(`${key}#${member}`);
  }
  return missing;
}

export { componentToolVersions } from './versions.js';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
