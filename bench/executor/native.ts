/**
 * Engine vs native, the way the issue states it: each kernel of
 * components/kernels/ compiled natively with `clang -O2`, against the same C
 * as wasm run by the Executor (worker isolate, fuel metering on, the
 * executor's tiering). The wasm is the committed build (`clang
 * --target=wasm32-wasi -O2`, components/kernels/build.sh); with `--simd` the
 * same sources are also built with `-msimd128` here, since clang -O2
 * vectorizes natively (SSE2) but emits no wasm SIMD unless told.
 *
 * Times are CPU time, best of the repetitions after one warm-up: the child's
 * for native, this process's (all threads: the worker runs the task) for wasm.
 * Each wasm run's stdout must equal the native run's.
 *
 *   npx tsc -p . && node dist/bench/executor/native.js [--repeats 5] [--kernels sieve,fib,matmul,hash] [--simd]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Executor, type PreparedModule } from '../../wasi-executor/executor.js';

const { values: flags } = parseArgs({
  options: {
    repeats: { type: 'string', default: '5' },
    kernels: { type: 'string', default: 'sieve,fib,matmul,hash' },
    simd: { type: 'boolean', default: false },
  },
});
const repeats = Number(flags.repeats);
const names = flags.kernels.split(',');
const components = fileURLToPath(new URL('../../../components/', import.meta.url));
const sourceDir = join(components, 'kernels');
const builtDir = join(components, 'built', 'kernels');
const work = mkdtempSync(join(tmpdir(), 'wasmos-native-'));

const clang = (args: readonly string[]) => execFileSync('clang', args, { stdio: 'inherit' });
const geomean = (list: readonly number[]) =>
  Math.exp(list.reduce((sum, value) => sum + Math.log(value), 0) / list.length);

/** CPU time (user + system) of one native run, from the shell's `times`, and its stdout. */
function runNative(binary: string): [number, string] {
  const report = execFileSync('bash', ['-c', `"$0" > "$0.out"; times`, binary], {
    encoding: 'utf8',
  });
  const children = report.trim().split('\n')[1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (match) => Number(match[1]) * 60 + Number(match[2]),
  );
  if (seconds.length !== 2) throw new Error(`cannot read the native CPU time from: ${report}`);
  return [(seconds[0]! + seconds[1]!) * 1000, readFileSync(`${binary}.out`, 'utf8')];
}

const executor = new Executor({ limits: { workersMax: 1 } });

async function runWasm(module: PreparedModule): Promise<[number, string, number]> {
  const before = process.cpuUsage();
  const result = await executor.run(module, { limits: { timeoutMs: 120_000 } });
  const cpu = process.cpuUsage(before);
  if (!result.ok) throw result.error;
  if (result.value.reason !== 'exited') throw new Error(result.value.message);
  const stdout = new TextDecoder().decode(result.value.stdout);
  return [(cpu.user + cpu.system) / 1000, stdout, result.value.fuelConsumed];
}

async function prepare(path: string): Promise<PreparedModule> {
  const prepared = await executor.prepare(new Uint8Array(readFileSync(path)));
  if (!prepared.ok) throw prepared.error;
  return prepared.value;
}

interface Row {
  readonly name: string;
  readonly nativeMs: number;
  readonly wasmMs: number;
  readonly simdMs: number | undefined;
  readonly fuel: number;
}

const rows: Row[] = [];
for (const name of names) {
  const native = join(work, name);
  clang(['-O2', '-o', native, join(sourceDir, `${name}.c`)]);
  const plain = await prepare(join(builtDir, `${name}.wasm`));
  let simd: PreparedModule | undefined;
  if (flags.simd) {
    const simdFile = join(work, `${name}.simd.wasm`);
    clang([
      '--target=wasm32-wasi',
      '-O2',
      '-msimd128',
      '-o',
      simdFile,
      join(sourceDir, `${name}.c`),
    ]);
    simd = await prepare(simdFile);
  }
  const best = { native: Infinity, wasm: Infinity, simd: Infinity };
  let fuel = 0;
  // Interleaved, first round a warm-up: the load on a shared machine changes by the second.
  for (let round = 0; round <= repeats; round++) {
    const [nativeMs, expected] = runNative(native);
    const [wasmMs, output, consumed] = await runWasm(plain);
    if (output !== expected) throw new Error(`${name}: wasm printed ${output}, native ${expected}`);
    fuel = consumed;
    let simdMs = Infinity;
    if (simd !== undefined) {
      const [ms, simdOutput] = await runWasm(simd);
      if (simdOutput !== expected) throw new Error(`${name}: the simd build printed ${simdOutput}`);
      simdMs = ms;
    }
    if (round === 0) continue;
    best.native = Math.min(best.native, nativeMs);
    best.wasm = Math.min(best.wasm, wasmMs);
    best.simd = Math.min(best.simd, simdMs);
  }
  rows.push({
    name,
    nativeMs: best.native,
    wasmMs: best.wasm,
    simdMs: simd === undefined ? undefined : best.simd,
    fuel,
  });
}
await executor.close();
rmSync(work, { recursive: true, force: true });

const load = loadavg()
  .map((value) => value.toFixed(1))
  .join(' ');
console.log(
  `native: clang -O2; wasm: the executor, fuel on, tiering optimized; CPU time, best of ${repeats} after a warm-up; node ${process.version}; load average ${load}`,
);
console.log(
  'kernel   native ms  wasm ms  wasm/native' +
    (flags.simd ? '  simd ms  simd/native' : '') +
    '  fuel (units)',
);
for (const row of rows) {
  console.log(
    row.name.padEnd(8) +
      row.nativeMs.toFixed(0).padStart(10) +
      row.wasmMs.toFixed(0).padStart(9) +
      (row.wasmMs / row.nativeMs).toFixed(3).padStart(13) +
      (row.simdMs === undefined
        ? ''
        : row.simdMs.toFixed(0).padStart(9) + (row.simdMs / row.nativeMs).toFixed(3).padStart(13)) +
      String(row.fuel).padStart(14),
  );
}
console.log(
  `geometric mean wasm/native: ${geomean(rows.map((row) => row.wasmMs / row.nativeMs)).toFixed(3)}`,
);
if (flags.simd) {
  console.log(
    `geometric mean simd/native: ${geomean(rows.map((row) => row.simdMs! / row.nativeMs)).toFixed(3)}`,
  );
}
