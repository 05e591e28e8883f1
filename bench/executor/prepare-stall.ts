// How long preparing blocks the caller's event loop: a 10 ms interval timer runs while
// `executor.warm({ componentTools: true })` and then the prepare of a component new to the
// process (textkit, 212 KB, nothing cached) run; the largest gap between two ticks, less the
// 10 ms period, is the longest stretch the loop could not run anything else (heartbeats,
// status updates, other tasks' output). Each round is a fresh child process.
//
//   npx tsc -p . && node dist/bench/executor/prepare-stall.js [--component textkit] [--rounds 5]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Executor } from '../../wasi-executor/executor.js';

const { values } = parseArgs({
  options: {
    component: { type: 'string', default: 'textkit' },
    rounds: { type: 'string', default: '5' },
    child: { type: 'boolean', default: false },
  },
});

const tickMs = 10;
const file = new URL(`../../../components/built/p2/${values.component}.wasm`, import.meta.url);

interface ChildFigures {
  readonly warmMs: number;
  readonly warmGapMs: number;
  readonly prepareMs: number;
  readonly prepareGapMs: number;
  readonly ticksDuringPrepare: number;
}

/** Runs `work` under a 10 ms interval; the longest gap between ticks (or since the start). */
async function gapDuring<T>(work: () => Promise<T>): Promise<[T, number, number, number]> {
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, tickMs);
  const startedMs = performance.now();
  const value = await work();
  const endedMs = performance.now();
  clearInterval(timer);
  maxGap = Math.max(maxGap, endedMs - last);
  return [value, endedMs - startedMs, Math.max(0, maxGap - tickMs), ticks];
}

async function child(): Promise<ChildFigures> {
  const bytes = new Uint8Array(readFileSync(file));
  const executor = new Executor({});
  const [, warmMs, warmGapMs] = await gapDuring(() => executor.warm({ componentTools: true }));
  const [prepared, prepareMs, prepareGapMs, ticksDuringPrepare] = await gapDuring(() =>
    executor.prepare(bytes),
  );
  if (!prepared.ok) throw prepared.error;
  await executor.close();
  return { warmMs, warmGapMs, prepareMs, prepareGapMs, ticksDuringPrepare };
}

function summary(list: readonly number[], unit = 'ms'): string {
  const sorted = [...list].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const shown = (x: number) => `${x.toFixed(unit === 'ms' ? 1 : 0).padStart(7)} ${unit}`;
  return `p50 ${shown(median)}  max ${shown(sorted.at(-1)!)}`;
}

if (values.child) {
  process.stdout.write(JSON.stringify(await child()));
} else {
  const rounds = Number(values.rounds);
  const figures: ChildFigures[] = [];
  const loadBefore = loadavg();
  for (let round = 0; round < rounds; round++) {
    const script = fileURLToPath(import.meta.url);
    const result = spawnSync(
      process.execPath,
      [script, '--component', values.component, '--child'],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`the child failed: ${result.stderr}`);
    figures.push(JSON.parse(result.stdout) as ChildFigures);
  }
  const loads = [loadBefore, loadavg()].map((load) => load.map((x) => x.toFixed(1)).join(' '));
  const line = (label: string, text: string) => `${label.padEnd(44)}${text}\n`;
  const size = readFileSync(file).length;
  process.stdout.write(
    `${values.component} (${size} bytes), ${rounds} rounds; node ${process.version}; ` +
      `${tickMs} ms interval timer\n` +
      `load average before ${loads[0]}, after ${loads[1]}\n` +
      line('warm({ componentTools: true }): duration', summary(figures.map((f) => f.warmMs))) +
      line('  longest event-loop stall', summary(figures.map((f) => f.warmGapMs))) +
      line('prepare (new component): duration', summary(figures.map((f) => f.prepareMs))) +
      line('  longest event-loop stall', summary(figures.map((f) => f.prepareGapMs))) +
      line(
        '  timer ticks during prepare',
        summary(
          figures.map((f) => f.ticksDuringPrepare),
          'ticks',
        ),
      ),
  );
}
