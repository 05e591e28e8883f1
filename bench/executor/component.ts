/**
 * Component path figures, measured in this thread the way a worker runs a
 * task (a worker adds a message round trip of about 20 µs):
 *
 * - warm task latency p50/p99 and tasks/s for the hello component, with the
 *   patched glue and with jco's glue as generated (the WebAssembly.promising
 *   and JCO_DEBUG patches), compiled modules reused, a fresh host and
 *   instance per task;
 * - cold start of a new component: transpile + instrument + compile + first run;
 * - the JavaScript handler (12 MB): prepare, compile, instantiate + first call.
 *
 * Tiering is the executor's default (optimized: --no-liftoff) unless
 * `--tiering baseline-first`; the load average is printed with the figures.
 *
 *   npx tsc -p . && node dist/bench/executor/component.js [--tasks N] [--warmup 1000] [--tiering optimized|baseline-first]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { transpile } from '@bytecodealliance/jco';
import { prepareComponent, type PreparedComponent } from '../../wasi-executor/component/prepare.js';
import { runComponent, type ComponentArtifact } from '../../wasi-executor/component/run.js';
import { GuestExit, type GuestSpec } from '../../wasi-executor/guest.js';
import { applyEngineTiering, type EngineTiering } from '../../wasi-executor/engine.js';
import { instrumentCore } from '../../wasi-executor/instrumentation.js';
import { defaultTaskLimits } from '../../wasi-executor/limits.js';
import { createTaskContext } from '../../wasi-executor/worker/context.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '2000' },
    tiering: { type: 'string', default: 'optimized' },
    // V8 takes several hundred tasks to optimize jco's large glue functions: 200 left
    // the timed tasks measuring that warm-up (433-439 per CPU-second against 520-680 after it).
    warmup: { type: 'string', default: '1000' },
  },
});
const tasks = Number(values.tasks);
const warmupTasks = Number(values.warmup);
applyEngineTiering(values.tiering as EngineTiering);
console.log(
  `tiering ${values.tiering}; node ${process.version}; load average ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}`,
);
const built = new URL('../../../components/built/', import.meta.url);
const instrument = (_name: string, bytes: Uint8Array) => instrumentCore(bytes, 64 << 20);

const spec: GuestSpec = {
  programName: 'hello',
  args: [],
  env: {},
  stdin: new Uint8Array(0),
  preopens: [],
  netAllow: [],
  handlerInput: new TextEncoder().encode('bench'),
};

function compile(prepared: PreparedComponent, glueSource = prepared.glueSource): ComponentArtifact {
  const coreModules = Object.fromEntries(
    Object.entries(prepared.coreModules).map(([name, bytes]) => [
      name,
      new WebAssembly.Module(bytes),
    ]),
  );
  return {
    kind: 'component',
    world: prepared.world,
    glueSource,
    coreModules,
    limits: prepared.limits,
  };
}

async function prepare(bytes: Uint8Array): Promise<PreparedComponent> {
  const result = await prepareComponent(bytes, { instrument });
  if (!result.ok) throw result.error;
  return result.value;
}

async function runOnce(artifact: ComponentArtifact): Promise<void> {
  const context = createTaskContext(spec, defaultTaskLimits, new Float64Array(2), () => undefined);
  try {
    const outcome = await runComponent(artifact, context);
    if (outcome.kind === 'handler_error') throw new Error(outcome.message);
  } catch (error) {
    // probe without arguments exits with a usage status: a run all the same.
    if (!(error instanceof GuestExit)) throw error;
  }
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function warm(label: string, artifact: ComponentArtifact): Promise<void> {
  for (let task = 0; task < warmupTasks; task++) await runOnce(artifact);
  const durationsMs: number[] = [];
  const startedMs = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let task = 0; task < tasks; task++) {
    const taskStartMs = performance.now();
    await runOnce(artifact);
    durationsMs.push(performance.now() - taskStartMs);
  }
  const totalMs = performance.now() - startedMs;
  const cpu = process.cpuUsage(cpuBefore);
  // Per CPU-second of this process: less sensitive than wall time to other load on the machine.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  durationsMs.sort((a, b) => a - b);
  console.log(
    `${label}: p50 ${percentile(durationsMs, 0.5).toFixed(3)} ms, p99 ${percentile(durationsMs, 0.99).toFixed(3)} ms, ` +
      `${Math.round((tasks * 1000) / totalMs)} tasks/s wall, ${Math.round((tasks * 1000) / cpuMs)} tasks per CPU-second (${tasks} tasks after ${warmupTasks})`,
  );
}

/** jco's glue as generated, only made loadable: what the patches are measured against. */
async function unpatchedGlue(bytes: Uint8Array): Promise<string> {
  const { files } = await transpile(bytes, {
    name: 'component',
    instantiation: 'async',
    noTypescript: true,
  });
  const source = new TextDecoder().decode(files['component.js']);
  return `${source
    .replace(/^export (function|const) /gm, '$1 ')
    .split('import.meta.url')
    .join("'file:///'")}\nreturn instantiate;\n`;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const startedMs = performance.now();
  const value = await work();
  return [value, performance.now() - startedMs];
}

const helloBytes = readFileSync(new URL('p2/hello.wasm', built));
const probeBytes = readFileSync(new URL('p2/probe.wasm', built));
const greetBytes = readFileSync(new URL('handlers/greet.wasm', built));

const [, firstPrepareMs] = await timed(() => prepare(helloBytes));
console.log(
  `first prepare in a fresh process (loads jco's wasm-tools): ${firstPrepareMs.toFixed(0)} ms`,
);

const [probePrepared, prepareMs] = await timed(() => prepare(probeBytes));
const [probe, compileMs] = await timed(async () => compile(probePrepared));
const [, firstRunMs] = await timed(() => runOnce(probe));
console.log(
  `cold start of a new ${(probeBytes.length / 1024).toFixed(0)} KB component: ${(prepareMs + compileMs + firstRunMs).toFixed(0)} ms ` +
    `(transpile + instrument ${prepareMs.toFixed(0)} ms, compile ${compileMs.toFixed(0)} ms, first run ${firstRunMs.toFixed(0)} ms)`,
);

const patched = compile(await prepare(helloBytes));
await warm('hello, patched glue', patched);
await warm(
  'hello, glue as jco generates it',
  compile(await prepare(helloBytes), await unpatchedGlue(helloBytes)),
);

const [greetPrepared, greetPrepareMs] = await timed(() => prepare(greetBytes));
const [greet, greetCompileMs] = await timed(async () => compile(greetPrepared));
const [, greetFirstMs] = await timed(() => runOnce(greet));
const [, greetSecondMs] = await timed(() => runOnce(greet));
console.log(
  `JS handler (${(greetBytes.length / 1e6).toFixed(1)} MB): prepare ${greetPrepareMs.toFixed(0)} ms, compile ${greetCompileMs.toFixed(0)} ms, ` +
    `first instantiate + call ${greetFirstMs.toFixed(0)} ms, next task ${greetSecondMs.toFixed(0)} ms`,
);
