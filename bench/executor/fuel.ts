/**
 * Fuel benchmark: for each CPU-bound kernel (components/built/kernels), runs
 * the plain and the instrumented module interleaved in this one process
 * (same V8), takes the median of the repetitions, and compares with the
 * same C compiled natively with clang -O2 (built here into a temp dir).
 * Then times the instrumenter on a ~10 MB module.
 *
 *   node [--no-liftoff] dist/bench/executor/fuel.js [--repeats 5] [--strategy auto]
 *        [--kernels sieve,fib,matmul,hash] [--large-module FILE.wasm] [--no-native]
 *
 * V8 compiles wasm lazily with its baseline compiler (Liftoff) and tiers up
 * per function on a later call, so a long-running loop can stay in baseline
 * code; the first repetition is a warm-up and not counted. Run with and
 * without --no-liftoff to see both (docs/FUEL.md has the recommendation).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { instrumentModule, type FuelStrategy } from '../../wasi-executor/instrument/index.js';
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
    kernels: { type: 'string', default: 'sieve,fib,matmul,hash' },
    'large-module': { type: 'string' },
    'no-native': { type: 'boolean', default: false },
  },
});
const repeats = Math.max(1, Number(flags.repeats));
const strategy = flags.strategy as FuelStrategy;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const geomean = (values: readonly number[]): number =>
  Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);

function buildNative(names: readonly string[]): string | undefined {
  if (flags['no-native']) return undefined;
  const clang = spawnSync('clang', ['--version']);
  if (clang.status !== 0) {
    console.log('clang not found: skipping the native comparison');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-kernels-'));
  for (const name of names) {
    execFileSync('clang', ['-O2', '-o', join(dir, name), join(sourceDir, `${name}.c`)]);
  }
  return dir;
}

function timeNative(binary: string): number {
  const startedNs = process.hrtime.bigint();
  execFileSync(binary, [], { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - startedNs) / 1e6;
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
  const instrumented = instrumentModule(bytes, { fuelStrategy: strategy });
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
    plainMs.push(p.durationMs);
    meteredMs.push(m.durationMs);
    last = m;
  }
  return {
    name,
    plainMs: median(plainMs),
    meteredMs: median(meteredMs),
    nativeMs: nativeDir === undefined ? undefined : median(nativeMs.slice(1)),
    fuel: FUEL_BUDGET - last!.fuelRemaining!,
  };
}

function printKernels(figures: readonly KernelFigures[]): void {
  console.log(
    `\nkernels: median of ${repeats} runs after a warm-up; strategy ${strategy}; flags ${process.execArgv.join(' ') || '(none)'}`,
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
  let summary;
  for (let run = 0; run < 5; run++) {
    const result = instrumentModule(bytes, { fuelStrategy: strategy });
    if (!result.ok) throw new Error(`large module: ${result.error.message}`);
    timesMs.push(result.value.summary.durationMs);
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
