// Test helpers: the built test programs, and an executor for a test file.
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';
import type { TaskResult, TaskSpec } from '../../wasi-executor/types.js';
import { programBytes } from '../support/programs.js';

export { programBytes };

export async function prepareProgram(executor: Executor, name: string): Promise<PreparedModule> {
  const prepared = await executor.prepare(programBytes(name));
  if (!prepared.ok) throw new Error(`${name} did not prepare: ${prepared.error.message}`);
  return prepared.value;
}

export async function runProgram(
  executor: Executor,
  name: string,
  spec: TaskSpec = {},
): Promise<TaskResult> {
  const run = await executor.run(await prepareProgram(executor, name), spec);
  if (!run.ok) throw new Error(`${name} did not run: ${run.error.message}`);
  return run.value;
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
