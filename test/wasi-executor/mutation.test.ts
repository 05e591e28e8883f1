// Corrupted variants of valid binaries (bit flips, truncation, byte insertion; seeded, so a
// failure reproduces): each is refused with a typed reason or, when it still prepares, runs
// contained and ends with a typed reason. The process never crashes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import type { TaskReason } from '../../wasi-executor/types.js';
import { programBytes } from './programs.js';

const MUTANTS = 1000;
const RUN_EVERY = 8;
const SEED = 0x5eed_2026;

const PREPARE_CODES = new Set([
  'invalid_wasm',
  'missing_import',
  'unsupported_world',
  'instantiation_failed',
]);
const RUN_REASONS = new Set<TaskReason>([
  'exited',
  'trap',
  'fuel_exhausted',
  'memory_limit',
  'timeout',
  'stack_overflow',
  'instantiation_failed',
]);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function mutate(original: Uint8Array, random: () => number): Uint8Array {
  const at = (length: number) => Math.floor(random() * length);
  const choice = at(3);
  if (choice === 0) {
    const bytes = original.slice();
    const flips = 1 + at(4);
    for (let flip = 0; flip < flips; flip++) {
      const offset = at(bytes.length);
      bytes[offset] = bytes[offset]! ^ (1 << at(8));
    }
    return bytes;
  }
  if (choice === 1) return original.slice(0, at(original.length));
  const offset = at(original.length);
  const inserted = Array.from({ length: 1 + at(8) }, () => at(256));
  return new Uint8Array([
    ...original.subarray(0, offset),
    ...inserted,
    ...original.subarray(offset),
  ]);
}

const executor = new Executor({ limits: { workersMax: 1, preparedEntriesMax: 8 } });

test(`${MUTANTS} corrupted binaries are each refused or contained with a typed reason`, async () => {
  const random = seededRandom(SEED);
  const originals = ['hello', 'args-echo', 'memory-bomb', 'infinite-loop'].map(programBytes);
  const tally = { refused: 0, ran: 0, prepared: 0 };
  const reasons = new Map<string, number>();
  for (let index = 0; index < MUTANTS; index++) {
    const mutant = mutate(originals[index % originals.length]!, random);
    const prepared = await executor.prepare(mutant);
    if (!prepared.ok) {
      assert.ok(
        PREPARE_CODES.has(prepared.error.code),
        `mutant ${index}: code ${prepared.error.code}`,
      );
      assert.ok(prepared.error.message.length > 0);
      tally.refused += 1;
      continue;
    }
    tally.prepared += 1;
    if (tally.prepared % RUN_EVERY !== 1) continue;
    const run = await executor.run(prepared.value, {
      args: ['a'],
      limits: { fuel: 20_000_000, timeoutMs: 1_000, memoryBytesMax: 32 * 1024 * 1024 },
    });
    assert.ok(run.ok);
    if (run.ok)
      assert.ok(RUN_REASONS.has(run.value.reason), `mutant ${index}: ${run.value.reason}`);
    if (run.ok) reasons.set(run.value.reason, (reasons.get(run.value.reason) ?? 0) + 1);
    tally.ran += 1;
  }
  assert.ok(tally.refused > MUTANTS / 4, `refused ${tally.refused}`);
  assert.ok(tally.ran > 0, 'some mutants still prepared and ran');
  process.stdout.write(
    `mutants: ${tally.refused} refused, ${tally.prepared} prepared, ${tally.ran} run (${[...reasons].map(([reason, count]) => `${reason} ${count}`).join(', ')})\n`,
  );
});

test('the executor still runs a valid program after the mutants', async () => {
  const prepared = await executor.prepare(programBytes('hello'));
  assert.ok(prepared.ok);
  const run = prepared.ok ? await executor.run(prepared.value, {}) : undefined;
  assert.is(run?.ok && run.value.exitCode, 0);
});

test.after(() => executor.close());

test.run();
