// Test helpers: the built test programs, and an executor for a test file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';
import type { TaskResult, TaskSpec } from '../../wasi-executor/types.js';

const builtDir = fileURLToPath(new URL('../../../components/built/programs/', import.meta.url));

export function programBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${builtDir}${name}.wasm`));
}

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
