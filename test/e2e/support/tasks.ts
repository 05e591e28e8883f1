import type { Offer, Resource, TaskInfo, WasmInfo } from '../../../protocol/index.js';

/** What a test task asks for; each test keeps its own size (it decides how many fit an agent). */
export interface TaskSize {
  readonly cpus: number;
  readonly memMiB: number;
}

/** The scalar `cpus` and `mem` resources of a task of `size`. */
export function taskResources({ cpus, memMiB }: TaskSize): Resource[] {
  return [
    { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
    { name: 'mem', type: 'SCALAR', scalar: { value: memMiB } },
  ];
}

/**
 * A WebAssembly task named after its id, on the offer's agent: the e2e tests launch their
 * programs (uploaded with uploadProgram) this way from HttpFramework/ReconcilingFramework.launch.
 */
export function wasmTaskOn(offer: Offer, taskId: string, size: TaskSize, wasm: WasmInfo): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources: taskResources(size),
    wasm,
  };
}

/** A busy loop that runs until its wall-clock timeout (fuel is not the limit). */
export const loopLimits = (timeoutMs: number) => ({
  fuel: Number.MAX_SAFE_INTEGER,
  timeout_ms: timeoutMs,
});
