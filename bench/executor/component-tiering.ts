/**
 * Does the process-wide tiering choice cost warm component tasks? Compiles
 * the hello component's core modules twice in this one process, once with
 * `--liftoff` and once with `--no-liftoff` set just before the compile (V8
 * reads the flag at compile time), then runs the two artifacts alternately
 * in batches and prints tasks per CPU-second of each batch. Alternating in
 * one process keeps machine load and V8's warm-up of jco's glue (shared by
 * both) out of the comparison.
 *
 *   npx tsc -p . && node dist/bench/executor/component-tiering.js [--batches 6] [--tasks 500] [--warmup 300]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { prepareComponent } from '../../wasi-executor/component/prepare.js';
import { runComponent, type ComponentArtifact } from '../../wasi-executor/component/run.js';
import { bareGuestSpec, GuestExit } from '../../wasi-executor/guest.js';
import { instrumentCore } from '../../wasi-executor/instrumentation.js';
import { defaultTaskLimits } from '../../wasi-executor/limits.js';
import { createTaskContext } from '../../wasi-executor/worker/context.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '6' },
    tasks: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '300' },
  },
});
const batches = Number(values.batches);
const tasksPerBatch = Number(values.tasks);
const warmupTasks = Number(values.warmup);

const spec = bareGuestSpec('hello');

const bytes = readFileSync(new URL('../../../components/built/p2/hello.wasm', import.meta.url));
const preparing = await prepareComponent(bytes, {
  instrument: (_name, core) => instrumentCore(core, 64 << 20),
});
if (!preparing.ok) throw new Error(preparing.error.message);
const prepared = preparing.value;

function compileWith(flag: string): ComponentArtifact {
  setFlagsFromString(flag);
  const { world, glueSource, coreModules, limits } = prepared;
  return {
    kind: 'component',
    world,
    glueSource,
    coreModules: Object.fromEntries(
      Object.entries(coreModules).map(([name, core]) => [name, new WebAssembly.Module(core)]),
    ),
    limits,
  };
}

const artifacts: Record<string, ComponentArtifact> = {
  'baseline-first (--liftoff)': compileWith('--liftoff'),
  'optimized (--no-liftoff)': compileWith('--no-liftoff'),
};

async function runOnce(artifact: ComponentArtifact): Promise<void> {
  const context = createTaskContext(spec, defaultTaskLimits, new Float64Array(2), () => undefined);
  try {
    await runComponent(artifact, context);
  } catch (error) {
    if (!(error instanceof GuestExit)) throw error;
  }
}

for (const artifact of Object.values(artifacts)) {
  for (let task = 0; task < warmupTasks; task++) await runOnce(artifact);
}
const perCpuSecond = new Map<string, number[]>();
for (let batch = 0; batch < batches; batch++) {
  for (const [label, artifact] of Object.entries(artifacts)) {
    const before = process.cpuUsage();
    for (let task = 0; task < tasksPerBatch; task++) await runOnce(artifact);
    const cpu = process.cpuUsage(before);
    const rates = perCpuSecond.get(label) ?? [];
    rates.push((tasksPerBatch * 1e6) / (cpu.user + cpu.system));
    perCpuSecond.set(label, rates);
  }
}
console.log(
  `hello, ${batches} alternating batches of ${tasksPerBatch} tasks after ${warmupTasks} warm-up tasks each; ` +
    `load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}`,
);
for (const [label, rates] of perCpuSecond) {
  const sorted = [...rates].sort((left, right) => left - right);
  console.log(
    `${label}: tasks per CPU-second ${rates.map((rate) => rate.toFixed(0)).join(' ')}; ` +
      `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)}`,
  );
}
