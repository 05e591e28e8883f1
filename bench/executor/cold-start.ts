// Cold start of a preview1 module: prepare with nothing cached (instrument + compile), prepare
// from the disk cache in a new executor, and the first run (which starts a worker) vs a warm one.
//
//   npx tsc -p . && node dist/bench/executor/cold-start.js [--program path-escape] [--rounds 5]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Executor } from '../../wasi-executor/executor.js';

const { values } = parseArgs({
  options: {
    program: { type: 'string', default: 'path-escape' },
    rounds: { type: 'string', default: '5' },
  },
});
const bytes = readFileSync(
  new URL(`../../../components/built/programs/${values.program}.wasm`, import.meta.url),
);
const rounds = Number(values.rounds);
const figures = {
  compiled: [] as number[],
  disk: [] as number[],
  firstRun: [] as number[],
  warmRun: [] as number[],
};

async function timed(work: () => Promise<unknown>): Promise<number> {
  const startedMs = performance.now();
  await work();
  return performance.now() - startedMs;
}

for (let round = 0; round < rounds; round++) {
  const workDir = mkdtempSync(join(tmpdir(), 'wasmos-cold-'));
  // Different bytes each round (a trailing custom section), so V8's own module cache cannot help.
  const variant = new Uint8Array([...bytes, 0, 6, 5, 0x72, 0x6f, 0x75, 0x6e, 0x64 + round]);
  const first = new Executor({ workDir });
  figures.compiled.push(await timed(() => first.prepare(variant)));
  await first.close();
  const second = new Executor({ workDir });
  let prepared: Awaited<ReturnType<Executor['prepare']>> | undefined;
  figures.disk.push(await timed(async () => (prepared = await second.prepare(variant))));
  if (prepared?.ok !== true || prepared.value.source !== 'disk_cache')
    throw new Error('expected a disk cache hit');
  const module = prepared.value;
  figures.firstRun.push(await timed(() => second.run(module, { preopens: [] })));
  figures.warmRun.push(await timed(() => second.run(module, { preopens: [] })));
  await second.close();
  rmSync(workDir, { recursive: true, force: true });
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
process.stdout.write(
  `${values.program} (preview1 module, ${bytes.length} bytes), median of ${rounds} rounds; node ${process.version}\n` +
    `prepare, nothing cached (instrument + compile):  ${median(figures.compiled).toFixed(1)} ms\n` +
    `prepare, disk cache hit (new executor):          ${median(figures.disk).toFixed(1)} ms\n` +
    `first run (starts a worker):                     ${median(figures.firstRun).toFixed(1)} ms\n` +
    `second run (warm worker):                        ${median(figures.warmRun).toFixed(1)} ms\n`,
);
