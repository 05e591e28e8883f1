// Cold start: the first task of a program new to the process, through the Executor's API.
//
// Each round gets a fresh work dir and two fresh child processes (so neither V8 nor the
// executor has seen the program before):
// - "cold": nothing cached; prepare (transpile with jco for a component, instrument,
//   compile) and the first run, then a second run for comparison;
// - "disk": a new process on the same work dir; prepare finds the first one's disk cache
//   entry (read, compile), then the first run.
// Before the clock starts each child calls `executor.warm({ componentTools: true })`: workers
// started, jco and the instrumenter loaded and run on the sample component in the prepare
// worker, as an agent that warmed its executor at start. What that warm-up costs is printed
// once, too. Transpile and instrument are timed in the prepare worker; prepare's wall time
// also holds the round trip to it. How long the caller's event loop stalls meanwhile:
// prepare-stall.ts.
//
//   npx tsc -p . && node dist/bench/executor/cold-start.js [--component textkit | --program path-escape]
//       [--rounds 7] [--args "--help"]
//
// --component NAME is components/built/p2/NAME.wasm (textkit: 212 KB), --program NAME a
// preview1 module in components/built/programs/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EngineTiering } from '../../wasi-executor/engine.js';
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';

const { values } = parseArgs({
  options: {
    component: { type: 'string' },
    program: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    // What the timed runs do: by default the least the program does (its usage text), so
    // the first run's figure is start-up, not the program's own work.
    args: { type: 'string' },
    tiering: { type: 'string', default: 'optimized' },
    // V8 flags for the children, e.g. --node-flag=--no-wasm-lazy-compilation.
    'node-flag': { type: 'string', multiple: true, default: [] },
    child: { type: 'string' },
    'work-dir': { type: 'string' },
  },
});

const built = new URL('../../../components/built/', import.meta.url);
const isComponent = values.program === undefined;
const name = isComponent ? (values.component ?? 'textkit') : values.program!;
const file = new URL(isComponent ? `p2/${name}.wasm` : `programs/${name}.wasm`, built);
const runArgs = (values.args ?? (isComponent ? '--help' : '')).split(' ').filter(Boolean);

/** What one child measured, in ms; CPU is the whole process's (all threads), user + system. */
interface ChildFigures {
  readonly warmMs: number;
  readonly source: PreparedModule['source'];
  readonly prepareMs: number;
  readonly prepareCpuMs: number;
  readonly phases: PreparedModule['phasesMs'];
  readonly firstRunMs: number;
  readonly firstRunCpuMs: number;
  readonly secondRunMs: number;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number, number]> {
  const startedMs = performance.now();
  const cpuBefore = process.cpuUsage();
  const value = await work();
  const cpu = process.cpuUsage(cpuBefore);
  return [value, performance.now() - startedMs, (cpu.user + cpu.system) / 1000];
}

async function child(workDir: string): Promise<ChildFigures> {
  const bytes = new Uint8Array(readFileSync(file));
  const executor = new Executor({ workDir, tiering: values.tiering as EngineTiering });
  const [, warmMs] = await timed(() => executor.warm({ componentTools: true }));
  const [prepared, prepareMs, prepareCpuMs] = await timed(() => executor.prepare(bytes));
  if (!prepared.ok) throw prepared.error;
  const spec = { args: runArgs, preopens: [] };
  const run = async () => {
    const result = await executor.run(prepared.value, spec);
    if (!result.ok) throw result.error;
    if (result.value.reason !== 'exited') throw new Error(result.value.message);
  };
  const [, firstRunMs, firstRunCpuMs] = await timed(run);
  const [, secondRunMs] = await timed(run);
  await executor.close();
  return {
    warmMs,
    source: prepared.value.source,
    prepareMs,
    prepareCpuMs,
    phases: prepared.value.phasesMs,
    firstRunMs,
    firstRunCpuMs,
    secondRunMs,
  };
}

function spawnChild(mode: 'cold' | 'disk', workDir: string): ChildFigures {
  const forwarded = isComponent ? ['--component', name] : ['--program', name];
  forwarded.push('--tiering', values.tiering);
  if (values.args !== undefined) forwarded.push(`--args=${values.args}`);
  const result = spawnSync(
    process.execPath,
    [
      ...values['node-flag'],
      fileURLToPath(import.meta.url),
      ...forwarded,
      '--child',
      mode,
      '--work-dir',
      workDir,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`the ${mode} child failed: ${result.stderr}`);
  const figures = JSON.parse(result.stdout) as ChildFigures;
  const expected = mode === 'cold' ? 'compiled' : 'disk_cache';
  if (figures.source !== expected) throw new Error(`${mode}: prepared from ${figures.source}`);
  return figures;
}

function summary(list: readonly number[]): string {
  const sorted = [...list].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return `p50 ${median.toFixed(1).padStart(6)} ms  max ${sorted.at(-1)!.toFixed(1).padStart(6)} ms`;
}

if (values.child !== undefined) {
  process.stdout.write(JSON.stringify(await child(values['work-dir']!)));
} else {
  const rounds = Number(values.rounds);
  const cold: ChildFigures[] = [];
  const disk: ChildFigures[] = [];
  const loadBefore = loadavg();
  for (let round = 0; round < rounds; round++) {
    const workDir = mkdtempSync(join(tmpdir(), 'wasmos-cold-'));
    cold.push(spawnChild('cold', workDir));
    disk.push(spawnChild('disk', workDir));
    rmSync(workDir, { recursive: true, force: true });
  }
  const loads = [loadBefore, loadavg()].map((load) => load.map((x) => x.toFixed(1)).join(' '));
  const kind = isComponent ? 'component' : 'preview1 module';
  const size = readFileSync(file).length;
  const phase = (list: ChildFigures[], key: keyof NonNullable<ChildFigures['phases']>) =>
    summary(list.map((figures) => figures.phases?.[key] ?? 0));
  const cpu = (list: ChildFigures[]) =>
    summary(list.map((figures) => figures.prepareCpuMs + figures.firstRunCpuMs));
  const line = (label: string, figures: string) => `${label.padEnd(44)}${figures}\n`;
  process.stdout.write(
    `${name} (${kind}, ${size} bytes), ${rounds} rounds, run args [${runArgs.join(' ')}]; node ${process.version}; ` +
      `tiering ${values.tiering}; flags [${values['node-flag'].join(' ')}]\n` +
      `load average before ${loads[0]}, after ${loads[1]}\n` +
      line('warm-up before the clock (not counted)', summary(cold.map((f) => f.warmMs))) +
      line('cold: prepare, nothing cached', summary(cold.map((f) => f.prepareMs))) +
      (isComponent ? line('  transpile (jco) + checks', phase(cold, 'transpileMs')) : '') +
      line('  instrument', phase(cold, 'instrumentMs')) +
      line('  compile', phase(cold, 'compileMs')) +
      line('cold: first run', summary(cold.map((f) => f.firstRunMs))) +
      line('cold: prepare + first run', summary(cold.map((f) => f.prepareMs + f.firstRunMs))) +
      line('cold: CPU, prepare + first run', cpu(cold)) +
      line('cold: second run', summary(cold.map((f) => f.secondRunMs))) +
      line('disk cache hit: prepare', summary(disk.map((f) => f.prepareMs))) +
      line('  cache read', phase(disk, 'cacheReadMs')) +
      line('  compile', phase(disk, 'compileMs')) +
      line('disk cache hit: first run', summary(disk.map((f) => f.firstRunMs))) +
      line(
        'disk cache hit: prepare + first run',
        summary(disk.map((f) => f.prepareMs + f.firstRunMs)),
      ) +
      line('disk cache hit: CPU, prepare + first run', cpu(disk)),
  );
}
