/**
 * Engine vs native, the way the issue states it: each kernel of
 * components/kernels/ compiled natively with `clang -O2`, against the same C
 * as wasm run by the Executor (worker isolate, fuel metering on, the
 * executor's tiering). The wasm is the committed build (`clang
 * --target=wasm32-wasi -O2 -msimd128`, components/kernels/build.sh: clang -O2
 * vectorizes natively with SSE2, so the wasm gets wasm SIMD); with `--scalar`
 * the same sources are also built here without `-msimd128`, for comparison.
 *
 * Times are CPU time, best of the repetitions after one warm-up: the child's
 * for native, this process's (all threads: the worker runs the task) for wasm.
 * Each wasm run's stdout must equal the native run's.
 *
 *   npx tsc -p . && node dist/bench/executor/native.js [--repeats 5] [--kernels sieve,fib,matmul,hash] [--scalar]
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
    scalar: { type: 'boolean', default: false },
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
  readonly scalarMs: number | undefined;
  readonly fuel: number;
}

const rows: Row[] = [];
for (const name of names) {
  const native = join(work, name);
  clang(['-O2', '-o', native, join(sourceDir, `${name}.c`)]);
  const plain = await prepare(join(builtDir, `${name}.wasm`));
  let scalar: PreparedModule | undefined;
  if (flags.scalar) {
    const scalarFile = join(work, `${name}.scalar.wasm`);
    clang(['--target=wasm32-wasi', '-O2', '-o', scalarFile, join(sourceDir, `${name}.c`)]);
    scalar = await prepare(scalarFile);
  }
  const best = { native: Infinity, wasm: Infinity, scalar: Infinity };
  let fuel = 0;
  // Interleaved, first round a warm-up: the load on a shared machine changes by the second.
  for (let round = 0; round <= repeats; round++) {
    const [nativeMs, expected] = runNative(native);
    const [wasmMs, output, consumed] = await runWasm(plain);
    if (output !== expected) throw new Error(`${name}: wasm printed ${output}, native ${expected}`);
    fuel = consumed;
    let scalarMs = Infinity;
    if (scalar !== undefined) {
      const [ms, scalarOutput] = await runWasm(scalar);
      if (scalarOutput !== expected) {
        throw new Error(`${name}: the scalar build printed ${scalarOutput}`);
      }
      scalarMs = ms;
    }
    if (round === 0) continue;
    best.native = Math.min(best.native, nativeMs);
    best.wasm = Math.min(best.wasm, wasmMs);
    best.scalar = Math.min(best.scalar, scalarMs);
  }
  rows.push({
    name,
    nativeMs: best.native,
    wasmMs: best.wasm,
    scalarMs: scalar === undefined ? undefined : best.scalar,
    fuel,
  });
}
await executor.close();
rmSync(work, { recursive: true, force: true });

const load = loadavg()
  .map((value) => value.toFixed(1))
  .join(' ');
console.log(
  `native: clang -O2; wasm: clang -O2 -msimd128, the executor, fuel on, tiering optimized; CPU time, best of ${repeats} after a warm-up; node ${process.version}; load average ${load}`,
);
console.log(
  'kernel   native ms  wasm ms  wasm/native' +
    (flags.scalar ? '  scalar ms  scalar/native' : '') +
    '  fuel (units)',
);
for (const row of rows) {
  console.log(
    row.name.padEnd(8) +
      row.nativeMs.toFixed(0).padStart(10) +
      row.wasmMs.toFixed(0).padStart(9) +
      (row.wasmMs / row.nativeMs).toFixed(3).padStart(13) +
      (row.scalarMs === undefined
        ? ''
        : row.scalarMs.toFixed(0).padStart(11) +
          (row.scalarMs / row.nativeMs).toFixed(3).padStart(15)) +
      String(row.fuel).padStart(14),
  );
}
console.log(
  `geometric mean wasm/native: ${geomean(rows.map((row) => row.wasmMs / row.nativeMs)).toFixed(3)}`,
);
if (flags.scalar) {
  console.log(
    `geometric mean scalar/native: ${geomean(rows.map((row) => row.scalarMs! / row.nativeMs)).toFixed(3)}`,
  );
}
