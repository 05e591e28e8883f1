/** Runs a WASI preview1 command module: fresh host, fresh instance, `_start`. */
import { InstantiationFailure, type GuestArtifact, type GuestRunner } from '../guest.js';
import { createPreview1Host } from './host.js';

export type Preview1Artifact = Extract<GuestArtifact, { kind: 'preview1' }>;

export const WASI_PREVIEW1_MODULE = 'wasi_snapshot_preview1';

function instantiate(
  artifact: Preview1Artifact,
  imports: WebAssembly.Imports,
): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(artifact.module, imports);
  } catch (error) {
    // Link errors (a signature mismatch) are instantiation failures; traps in a start function are the guest's.
    if (error instanceof WebAssembly.LinkError || error instanceof TypeError) {
      throw new InstantiationFailure(`instantiation failed: ${error.message}`);
    }
    throw error;
  }
}

export const runPreview1: GuestRunner<Preview1Artifact> = async (artifact, context) => {
  const host = createPreview1Host({
    spec: context.spec,
    stdout: context.stdout,
    stderr: context.stderr,
    onProgress: context.recordProgress,
    ...(context.flushOutput ? { beforeBlocking: () => context.flushOutput?.() } : {}),
  });
  try {
    const imports: WebAssembly.Imports = {
      [WASI_PREVIEW1_MODULE]: host.imports,
      wasmos: context.limitImports(artifact.limits),
    };
    const instance = instantiate(artifact, imports);
    const memory = instance.exports['memory'];
    const start = instance.exports['_start'];
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new InstantiationFailure('the module exports no memory named "memory"');
    }
    if (typeof start !== 'function') {
      throw new InstantiationFailure('the module exports no "_start" function');
    }
    context.trackMemory(memory);
    host.bindMemory(memory);
    context.recordProgress();
    (start as () => void)();
    return { kind: 'exited', exitCode: 0 };
  } finally {
    host.close();
  }
};
