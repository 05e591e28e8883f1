/** Runs a component in this thread, the way a worker does, and collects what it did. */
import { readFileSync } from 'node:fs';
import { bareGuestSpec, type GuestOutcome, type GuestSpec } from '../../../wasi-executor/guest.js';
import {
  passThrough,
  prepareComponent,
  type CoreModuleInstrumenter,
  type PreparedComponent,
} from '../../../wasi-executor/component/prepare.js';
import { runComponent, type ComponentArtifact } from '../../../wasi-executor/component/run.js';
import { instrumentCore } from '../../../wasi-executor/instrumentation.js';
import { defaultTaskLimits } from '../../../wasi-executor/limits.js';
import type { TaskLimits } from '../../../wasi-executor/types.js';
import { createTaskContext, type TaskContext } from '../../../wasi-executor/worker/context.js';

export const builtDir = new URL('../../../../components/built/', import.meta.url);

export function builtComponent(path: string): Uint8Array {
  return readFileSync(new URL(path, builtDir));
}

export const metered: CoreModuleInstrumenter = (_name, bytes) => instrumentCore(bytes, 64 << 20);

export async function prepared(
  bytes: Uint8Array,
  instrument: CoreModuleInstrumenter = passThrough,
): Promise<ComponentArtifact> {
  const result = await prepareComponent(bytes, { instrument });
  if (!result.ok) throw result.error;
  return compiled(result.value);
}

export function compiled(component: PreparedComponent): ComponentArtifact {
  const coreModules = Object.fromEntries(
    Object.entries(component.coreModules).map(([name, bytes]) => [
      name,
      new WebAssembly.Module(bytes),
    ]),
  );
  return {
    kind: 'component',
    world: component.world,
    glueSource: component.glueSource,
    coreModules,
    limits: component.limits,
  };
}

export interface Run {
  readonly outcome: GuestOutcome | undefined;
  readonly thrown: unknown;
  readonly stdout: string;
  readonly stderr: string;
  readonly context: TaskContext;
}

export async function run(
  artifact: ComponentArtifact,
  spec: Partial<GuestSpec> = {},
  limits: Partial<TaskLimits> = {},
): Promise<Run> {
  const output = { stdout: '', stderr: '' };
  const decoder = new TextDecoder();
  const context = createTaskContext(
    bareGuestSpec('probe', spec),
    { ...defaultTaskLimits, ...limits },
    new Float64Array(2),
    (stream, bytes) => {
      output[stream] += decoder.decode(bytes);
    },
  );
  try {
    const outcome = await runComponent(artifact, context);
    context.flushOutput();
    return { outcome, thrown: undefined, ...output, context };
  } catch (thrown) {
    context.flushOutput();
    return { outcome: undefined, thrown, ...output, context };
  }
}
