// A component that sleeps (wasi:io/poll on a monotonic-clock pollable) first sends the output
// it holds, so what it printed before the sleep is not held through it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasiHost } from '../../../wasi-executor/component/host/index.js';
import type { Pollable } from '../../../wasi-executor/component/host/streams.js';
import { bareGuestSpec } from '../../../wasi-executor/guest.js';

const sink = { write: () => undefined, bytesWritten: 0, truncated: false };

function hostCountingFlushes() {
  const counts = { flushes: 0 };
  const host = createWasiHost({
    spec: bareGuestSpec('sleeper'),
    stdout: sink,
    stderr: sink,
    recordProgress: () => undefined,
    flushOutput: () => (counts.flushes += 1),
  });
  const clock = host.interfaces['wasi:clocks/monotonic-clock'] as {
    subscribeDuration(durationNs: bigint): Pollable;
  };
  const { poll } = host.interfaces['wasi:io/poll'] as {
    poll(pollables: readonly Pollable[]): Uint32Array;
  };
  return { counts, clock, poll };
}

test('a poll that has to sleep flushes the held output first, then waits', () => {
  const { counts, clock, poll } = hostCountingFlushes();
  const startedNs = process.hrtime.bigint();
  assert.equal([...poll([clock.subscribeDuration(5_000_000n)])], [0]);
  assert.ok(process.hrtime.bigint() - startedNs >= 5_000_000n, 'it slept until the deadline');
  assert.ok(counts.flushes >= 1, 'flushed before sleeping');
});

test('a poll on a ready pollable neither sleeps nor flushes', () => {
  const { counts, clock, poll } = hostCountingFlushes();
  assert.equal([...poll([clock.subscribeDuration(0n)])], [0]);
  assert.is(counts.flushes, 0);
});

test.run();
