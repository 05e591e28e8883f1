/**
 * The component runner, inside a worker: a fresh WASI host, a fresh
 * component instance (one per task: the preview1 adapter cannot run twice),
 * then `wasi:cli/run#run` or `handle`. Traps, fuel exhaustion and GuestExit
 * propagate to the worker, which classifies them.
 */
import { LruMap } from '../../lib/lru.js';
import {
  InstantiationFailure,
  type GuestArtifact,
  type GuestContext,
  type GuestOutcome,
  type GuestRunner,
} from '../guest.js';
import { LIMITS_IMPORT_MODULE } from '../instrument/abi.js';
import { loadGlue, type GlueInstantiate, type InstantiateCore } from './glue.js';
import { createWasiHost, type HostInterfaces } from './host/index.js';
import { interfaceName, runExportOf } from './world.js';

export type ComponentArtifact = Extract<GuestArtifact, { kind: 'component' }>;

/** Loaded glues kept per worker: building one costs about as much as a task. */
export const gluesPerWorkerMax = 16;

const glues = new LruMap<string, GlueInstantiate>(gluesPerWorkerMax);

function glueFor(source: string): GlueInstantiate {
  let instantiate = glues.get(source);
  if (instantiate === undefined) {
    instantiate = loadGlue(source);
    glues.set(source, instantiate);
  }
  return instantiate;
}

/** The glue asks for `imports['wasi:cli/stdin']` (any 0.2.x version): serve each from the host. */
function importsFrom(interfaces: HostInterfaces): Readonly<Record<string, unknown>> {
  return new Proxy(
    {},
    {
      get: (_target, key) => (typeof key === 'string' ? interfaces[interfaceName(key)] : undefined),
    },
  );
}

/** jco's instantiateCore, plus the "wasmos" limit imports of each instrumented core module. */
function limitedInstantiateCore(
  artifact: ComponentArtifact,
  context: GuestContext,
): InstantiateCore {
  const names = new Map<WebAssembly.Module, string>();
  for (const [name, module] of Object.entries(artifact.coreModules)) names.set(module, name);
  return (module, imports = {}) => {
    const plan = artifact.limits[names.get(module) ?? ''];
    if (plan === undefined)
      throw new InstantiationFailure('the glue asked for an unknown core module');
    const instance = newInstance(module, {
      ...imports,
      [LIMITS_IMPORT_MODULE]: context.limitImports(plan),
    });
    if (!plan.metered) {
      // Not instrumented: its own memories are not the host's, count them anyway.
      for (const value of Object.values(instance.exports)) {
        if (value instanceof WebAssembly.Memory) context.trackMemory(value);
      }
    }
    return instance;
  };
}

function newInstance(
  module: WebAssembly.Module,
  imports: WebAssembly.Imports,
): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(module, imports);
  } catch (error) {
    // A link error is ours to report; a trap in a start function is the guest's.
    if (error instanceof WebAssembly.LinkError) {
      throw new InstantiationFailure(`instantiation failed: ${error.message}`);
    }
    throw error;
  }
}

/** jco throws a ComponentError carrying `payload` when an export returns its `err` arm. */
function isErrResult(error: unknown): error is { payload: unknown } {
  return typeof error === 'object' && error !== null && Object.hasOwn(error, 'payload');
}

function runCommand(exports: Readonly<Record<string, unknown>>): GuestOutcome {
  const run = runExportOf(exports);
  if (run === undefined) throw new InstantiationFailure('the component exports no wasi:cli/run');
  try {
    run.run();
  } catch (error) {
    if (isErrResult(error)) return { kind: 'exited', exitCode: 1 };
    throw error;
  }
  return { kind: 'exited', exitCode: 0 };
}

function runHandler(exports: Readonly<Record<string, unknown>>, input: Uint8Array): GuestOutcome {
  const handle = exports['handle'];
  if (typeof handle !== 'function')
    throw new InstantiationFailure('the component exports no handle');
  let output: unknown;
  try {
    output = handle(input);
  } catch (error) {
    if (isErrResult(error)) return { kind: 'handler_error', message: String(error.payload) };
    throw error;
  }
  if (!(output instanceof Uint8Array)) throw new InstantiationFailure('handle returned no bytes');
  return { kind: 'returned', output };
}

export const runComponent: GuestRunner<ComponentArtifact> = async (artifact, context) => {
  const host = createWasiHost(context);
  try {
    const instantiate = glueFor(artifact.glueSource);
    const getCoreModule = (name: string): WebAssembly.Module => {
      const module = artifact.coreModules[name];
      if (module === undefined) throw new InstantiationFailure(`no core module named ${name}`);
      return module;
    };
    const exports = await instantiate(
      getCoreModule,
      importsFrom(host.interfaces),
      limitedInstantiateCore(artifact, context),
    );
    context.recordProgress();
    return artifact.world === 'command'
      ? runCommand(exports)
      : runHandler(exports, context.spec.handlerInput ?? new Uint8Array(0));
  } finally {
    host.dispose();
  }
};
