import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../lib/clock.js';
import { LruMap } from '../../lib/lru.js';
import { parseBytes, parseDurationMs } from '../../lib/units.js';

test('manual clock fires due timers in due order, ties in creation order', () => {
  const clock = new ManualClock(100);
  const fired: string[] = [];
  clock.after(50, () => fired.push('b'));
  clock.after(10, () => fired.push('a'));
  clock.after(50, () => fired.push('c'));
  clock.after(500, () => fired.push('late'));
  clock.advanceMs(60);
  assert.equal(fired, ['a', 'b', 'c']);
  assert.is(clock.nowMs(), 160);
  assert.is(clock.pendingTimers, 1);
});

test('a cancelled timer never fires', () => {
  const clock = new ManualClock();
  let fired = false;
  const cancel = clock.after(5, () => (fired = true));
  cancel();
  clock.advanceMs(10);
  assert.is(fired, false);
});

test('a timer set by a firing callback fires within the same advance when due', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  clock.after(5, () => {
    fired.push(clock.nowMs());
    clock.after(5, () => fired.push(clock.nowMs()));
  });
  clock.advanceMs(20);
  assert.equal(fired, [5, 10]);
});

test('lru map evicts the least recently used entry at its bound', () => {
  const lru = new LruMap<string, number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.get('a');
  assert.equal(lru.set('c', 3), ['b', 2]);
  assert.equal([...lru.keys()], ['a', 'c']);
});

test('sizes and durations parse with units and reject junk', () => {
  assert.equal(parseBytes('64MiB'), { ok: true, value: 64 * 1024 * 1024 });
  assert.equal(parseBytes('1.5kb'), { ok: true, value: 1500 });
  assert.equal(parseBytes('4096'), { ok: true, value: 4096 });
  assert.is(parseBytes('12 parsecs').ok, false);
  assert.is(parseBytes('-1').ok, false);
  assert.equal(parseDurationMs('30s'), { ok: true, value: 30_000 });
  assert.equal(parseDurationMs('250ms'), { ok: true, value: 250 });
  assert.equal(parseDurationMs('2m'), { ok: true, value: 120_000 });
  assert.is(parseDurationMs('soon').ok, false);
});

test.run();
