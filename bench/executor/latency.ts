// Warm task latency for a WASI preview1 hello (compiled module cached, worker warm):
// p50 / p99 per task and tasks per second, one worker, tasks one after another; beside it,
// in the same run, the same task without a worker and a bare instantiation (the engine floor).
//
//   npx tsc -p . && node dist/bench/executor/latency.js [--tasks 3000] [--warmup 300]
//       [--tiering optimized|baseline-first] [--program hello]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EngineTiering } from '../../wasi-executor/engine.js';
import { Executor } from '../../wasi-executor/executor.js';
import type { GuestArtifact } from '../../wasi-executor/guest.js';
import { runPreview1 } from '../../wasi-executor/preview1/run.js';
import { checkTaskSpec } from '../../wasi-executor/spec.js';
import { createTaskContext } from '../../wasi-executor/worker/context.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '300' },
    tiering: { type: 'string', default: 'optimized' },
    program: { type: 'string', default: 'hello' },
  },
});
const tasks = Number(values.tasks);
const warmup = Number(values.warmup);
const tiering = values.tiering as EngineTiering;

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  /** Tasks per second of CPU time of the whole process (every thread), the timed tasks only. */
  readonly perCpuSecond: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

const bytes = readFileSync(
  new URL(`../../../components/built/programs/${values.program}.wasm`, import.meta.url),
);
const executor = new Executor({ limits: { workersMax: 1 }, tiering });
const preparedResult = await executor.prepare(bytes);
if (!preparedResult.ok) throw new Error(preparedResult.error.message);
const prepared = preparedResult.value;
const artifact = prepared.artifact as Extract<GuestArtifact, { kind: 'preview1' }>;
const checked = checkTaskSpec({}, executor.limits);
if (artifact.kind !== 'preview1' || !checked.ok) throw new Error('not a runnable preview1 module');
const { guest, limits } = checked.value;

async function viaExecutor(): Promise<number> {
  const startedMs = performance.now();
  const run = await executor.run(prepared, {});
  const elapsedMs = performance.now() - startedMs;
  if (!run.ok || run.value.exitCode !== 0) throw new Error('task failed');
  return elapsedMs;
}

/** The same task without the worker: context, host and instance built in this thread. */
async function inProcess(): Promise<number> {
  const startedMs = performance.now();
  const context = createTaskContext(
    guest,
    limits,
    new Float64Array(new SharedArrayBuffer(16)),
    () => undefined,
  );
  await runPreview1(artifact, context);
  return performance.now() - startedMs;
}

/** The engine's floor: a bare instance with fresh limit imports (memory, fuel global), nothing run. */
async function instanceOnly(): Promise<number> {
  const startedMs = performance.now();
  const context = createTaskContext(
    guest,
    limits,
    new Float64Array(new SharedArrayBuffer(16)),
    () => undefined,
  );
  const stub = new Proxy({}, { get: () => () => 0 });
  new WebAssembly.Instance(artifact.module, {
    wasi_snapshot_preview1: stub,
    wasmos: context.limitImports(artifact.limits),
  });
  return performance.now() - startedMs;
}

async function measure(task: () => Promise<number>): Promise<Figures> {
  for (let index = 0; index < warmup; index++) await task();
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const startedMs = performance.now();
  for (let index = 0; index < tasks; index++) latencies.push(await task());
  const totalMs = performance.now() - startedMs;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    perSecond: tasks / (totalMs / 1000),
    perCpuSecond: tasks / ((cpu.user + cpu.system) / 1e6),
  };
}

function line(name: string, figures: Figures): string {
  const micros = (ms: number) => `${(ms * 1000).toFixed(0).padStart(6)} µs`;
  const rate = (value: number) => value.toFixed(0).padStart(6);
  return (
    `${name.padEnd(34)} p50 ${micros(figures.p50)}   p99 ${micros(figures.p99)}   ` +
    `${rate(figures.perSecond)} tasks/s ${rate(figures.perCpuSecond)} per CPU-second\n`
  );
}

const executorFigures = await measure(viaExecutor);
const coresBusy = executorFigures.perSecond / executorFigures.perCpuSecond;
const inProcessFigures = await measure(inProcess);
const floorFigures = await measure(instanceOnly);
process.stdout.write(
  `${values.program} (preview1 module, ${bytes.length} bytes), ${tasks} warm tasks in sequence, ` +
    `tiering ${tiering}; node ${process.version}\n` +
    line('executor.run (1 worker)', executorFigures) +
    line('same task in-process (no worker)', inProcessFigures) +
    line('bare new Instance (engine floor)', floorFigures) +
    `during executor.run: ${coresBusy.toFixed(2)} cores busy (main thread + worker)\n`,
);
await executor.close();
