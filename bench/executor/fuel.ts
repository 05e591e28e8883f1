/**
 * Fuel benchmark: for each CPU-bound kernel (components/built/kernels), runs
 * the plain and the instrumented module interleaved in this one process
 * (same V8), and compares with the same C compiled natively with clang -O2
 * (gcc -O2 when clang is missing; built here into a temp dir). Then times
 * the instrumenter on a ~10 MB module.
 *
 * Times are CPU time by default (the process's for wasm, the child's for
 * native), best of the repetitions: on a shared machine, wall time mostly
 * measures waiting for a core; `--clock wall` takes medians of wall time.
 *
 *   node [--no-liftoff] dist/bench/executor/fuel.js [--repeats 5] [--strategy auto] [--fuel-counter imported|exported]
 *        [--fuel-passing arguments|global]
 *        [--kernels sieve,fib,matmul,hash] [--large-module FILE.wasm] [--no-native]
 *        [--clock cpu|wall]
 *
 * V8 compiles wasm lazily with its baseline compiler (Liftoff) and tiers up
 * per function on a later call, so a long-running loop can stay in baseline
 * code; the first repetition is a warm-up and not counted. Run with and
 * without --no-liftoff to see both (docs/FUEL.md has the recommendation).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  instrumentModule,
  type FuelCounter,
  type FuelPassing,
  type FuelStrategy,
} from '../../wasi-executor/instrument/index.js';
import { runKernel, type KernelRun } from './fuel-host.js';
import { enlargeModule } from './fuel-large-module.js';

const root = new URL('../../../', import.meta.url).pathname;
const kernelDir = join(root, 'components/built/kernels');
const sourceDir = join(root, 'components/kernels');
const FUEL_BUDGET = 1n << 62n;
const MEMORY_PAGES_MAX = 16_384;

const { values: flags } = parseArgs({
  options: {
    repeats: { type: 'string', default: '5' },
    strategy: { type: 'string', default: 'auto' },
    'fuel-counter': { type: 'string', default: 'imported' },
    'fuel-passing': { type: 'string', default: 'arguments' },
    kernels: { type: 'string', default: 'sieve,fib,matmul,hash' },
    'large-module': { type: 'string' },
    'no-native': { type: 'boolean', default: false },
    clock: { type: 'string', default: 'cpu' },
  },
});
const cpuClock = flags.clock !== 'wall';
/** CPU time: the least disturbed run is the best estimate; wall time: the median. */
const summarize = (values: readonly number[]): number =>
  cpuClock ? Math.min(...values) : median(values);
const repeats = Math.max(1, Number(flags.repeats));
const strategy = flags.strategy as FuelStrategy;
/** 'imported' is what the executor uses; 'exported' the variant measured faster for calls (docs/FUEL.md). */
const fuelCounter = flags['fuel-counter'] as FuelCounter;
/** 'arguments' is the instrumenter's default; 'global' the way calls passed the counter before (docs/FUEL.md). */
const fuelPassing = flags['fuel-passing'] as FuelPassing;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const geomean = (values: readonly number[]): number =>
  Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);

function buildNative(names: readonly string[]): string | undefined {
  if (flags['no-native']) return undefined;
  const compiler = ['clang', 'gcc'].find((name) => spawnSync(name, ['--version']).status === 0);
  if (compiler === undefined) {
    console.log('neither clang nor gcc found: skipping the native comparison');
    return undefined;
  }
  console.log(`native kernels: ${compiler} -O2`);
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-kernels-'));
  for (const name of names) {
    execFileSync(compiler, ['-O2', '-o', join(dir, name), join(sourceDir, `${name}.c`)]);
  }
  return dir;
}

/** Wall time of the native run, or its CPU time (user + system, from the shell's `times`). */
function timeNative(binary: string): number {
  if (!cpuClock) {
    const startedNs = process.hrtime.bigint();
    execFileSync(binary, [], { stdio: 'ignore' });
    return Number(process.hrtime.bigint() - startedNs) / 1e6;
  }
  const report = execFileSync('bash', ['-c', `"$0" > /dev/null; times`, binary], {
    encoding: 'utf8',
  });
  // The second line of `times` is the children's user and system time, e.g. "0m0.930s 0m0.002s".
  const children = report.trim().split('\n')[1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (match) => Number(match[1]) * 60 + Number(match[2]),
  );
  if (seconds.length !== 2) throw new Error(`cannot read the native CPU time from: ${report}`);
  return (seconds[0]! + seconds[1]!) * 1000;
}

interface KernelFigures {
  readonly name: string;
  readonly plainMs: number;
  readonly meteredMs: number;
  readonly nativeMs: number | undefined;
  readonly fuel: bigint;
}

function benchKernel(name: string, nativeDir: string | undefined): KernelFigures {
  const bytes = readFileSync(join(kernelDir, `${name}.wasm`));
  const instrumented = instrumentModule(bytes, {
    fuelStrategy: strategy,
    fuelCounter,
    fuelPassing,
  });
  if (!instrumented.ok) throw new Error(`${name}: ${instrumented.error.message}`);
  const plain = new WebAssembly.Module(bytes);
  const metered = new WebAssembly.Module(instrumented.value.bytes);
  const limits = {
    metadata: instrumented.value,
    fuel: FUEL_BUDGET,
    memoryPagesMax: MEMORY_PAGES_MAX,
  };
  const plainMs: number[] = [];
  const meteredMs: number[] = [];
  const nativeMs: number[] = [];
  let last: KernelRun | undefined;
  // Repetition 0 warms up (tier-up of the hot functions) and is not counted.
  for (let repetition = 0; repetition <= repeats; repetition++) {
    const runPlain = (): KernelRun => runKernel(plain, [name]);
    const runMetered = (): KernelRun => runKernel(metered, [name], limits);
    const [first, second] = repetition % 2 ? [runPlain, runMetered] : [runMetered, runPlain];
    const a = first();
    const b = second();
    const [p, m] = repetition % 2 ? [a, b] : [b, a];
    if (p.stdout !== m.stdout)
      throw new Error(`${name}: outputs differ: ${p.stdout} vs ${m.stdout}`);
    if (nativeDir !== undefined) nativeMs.push(timeNative(join(nativeDir, name)));
    if (repetition === 0) continue;
    plainMs.push(cpuClock ? p.cpuMs : p.durationMs);
    meteredMs.push(cpuClock ? m.cpuMs : m.durationMs);
    last = m;
  }
  return {
    name,
    plainMs: summarize(plainMs),
    meteredMs: summarize(meteredMs),
    nativeMs: nativeDir === undefined ? undefined : summarize(nativeMs.slice(1)),
    fuel: FUEL_BUDGET - last!.fuelRemaining!,
  };
}

function printKernels(figures: readonly KernelFigures[]): void {
  console.log(
    `\nkernels: ${cpuClock ? 'CPU time, best' : 'wall time, median'} of ${repeats} runs after a warm-up; strategy ${strategy}; fuel counter ${fuelCounter}; fuel passing ${fuelPassing}; flags ${process.execArgv.join(' ') || '(none)'}; load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    'kernel   native ms  wasm ms  fuel ms  fuel/wasm  wasm/native  fuel/native  fuel (units)',
  );
  for (const row of figures) {
    const native = row.nativeMs;
    const cells = [
      row.name.padEnd(8),
      (native?.toFixed(0) ?? '-').padStart(9),
      row.plainMs.toFixed(0).padStart(8),
      row.meteredMs.toFixed(0).padStart(8),
      (row.meteredMs / row.plainMs).toFixed(3).padStart(10),
      (native ? (row.plainMs / native).toFixed(3) : '-').padStart(12),
      (native ? (row.meteredMs / native).toFixed(3) : '-').padStart(12),
      row.fuel.toString().padStart(13),
    ];
    console.log(cells.join(' '));
  }
  const overhead = geomean(figures.map((row) => row.meteredMs / row.plainMs));
  console.log(`geometric mean fuel/wasm: ${overhead.toFixed(3)}`);
  const natives = figures.filter((row) => row.nativeMs !== undefined);
  if (natives.length === figures.length) {
    console.log(
      `geometric mean wasm/native: ${geomean(natives.map((row) => row.plainMs / row.nativeMs!)).toFixed(3)}`,
    );
    console.log(
      `geometric mean fuel/native: ${geomean(natives.map((row) => row.meteredMs / row.nativeMs!)).toFixed(3)}`,
    );
  }
}

function largeModule(): { bytes: Uint8Array; what: string } {
  const path = flags['large-module'];
  if (path !== undefined) return { bytes: readFileSync(path), what: path };
  const copies = 380;
  return {
    bytes: enlargeModule(readFileSync(join(kernelDir, 'sieve.wasm')), copies),
    what: `sieve.wasm with its functions repeated ${copies + 1} times`,
  };
}

function benchInstrumentation(): void {
  const { bytes, what } = largeModule();
  const timesMs: number[] = [];
  // CPU time too: on a shared machine the wall time mostly measures waiting for a core.
  const cpuMs: number[] = [];
  let summary;
  for (let run = 0; run < 5; run++) {
    const cpuBefore = process.cpuUsage();
    const result = instrumentModule(bytes, { fuelStrategy: strategy, fuelPassing });
    const cpu = process.cpuUsage(cpuBefore);
    if (!result.ok) throw new Error(`large module: ${result.error.message}`);
    timesMs.push(result.value.summary.durationMs);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    summary = result.value.summary;
  }
  const compileStartMs = performance.now();
  new WebAssembly.Module(bytes);
  const compileMs = performance.now() - compileStartMs;
  console.log(
    `\ninstrumentation of ${what}: ${(bytes.length / 1e6).toFixed(2)} MB in, ${(summary!.bytesOut / 1e6).toFixed(2)} MB out`,
  );
  console.log(
    `  first call in this process: ${timesMs[0]!.toFixed(0)} ms; median of the next 4: ${median(timesMs.slice(1)).toFixed(0)} ms`,
  );
  console.log(
    `  CPU time: first call ${cpuMs[0]!.toFixed(0)} ms; median of the next 4: ${median(cpuMs.slice(1)).toFixed(0)} ms (load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')})`,
  );
  console.log(
    `  ${summary!.functions} functions, ${summary!.loops} loops, ${summary!.regions} regions; compiling the plain module took ${compileMs.toFixed(0)} ms`,
  );
}

const names = flags.kernels.split(',').filter(Boolean);
const nativeDir = buildNative(names);
try {
  // The instrumenter runs first, so its first-call figure is a cold start.
  benchInstrumentation();
  printKernels(names.map((name) => benchKernel(name, nativeDir)));
} finally {
  if (nativeDir !== undefined) rmSync(nativeDir, { recursive: true, force: true });
}
