import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resources } from '../../../master/core/resources.js';
import { seededRng } from '../../../master/core/rng.js';
import { drfSorter } from '../../../master/core/sorter/drf.js';
import { randomSorter } from '../../../master/core/sorter/random.js';
import type { SorterFactory } from '../../../master/core/sorter/sorter.js';

const total = Resources.of({ cpus: 10, mem: 1000 });

// One conformance suite for every sorter (STYLE.md practice 13).
function conformance(name: string, make: SorterFactory): void {
  test(`${name}: sort lists every client exactly once`, () => {
    const sorter = make(total, seededRng(1));
    for (const client of ['a', 'b', 'c']) sorter.add(client, 1, Resources.empty);
    sorter.allocated('b', Resources.of({ cpus: 1 }));
    assert.equal([...sorter.sort()].sort(), ['a', 'b', 'c']);
  });
  test(`${name}: the same seed gives the same order`, () => {
    const orders = [1, 1].map((seed) => {
      const sorter = make(total, seededRng(seed));
      for (const client of ['a', 'b', 'c', 'd']) sorter.add(client, 1, Resources.empty);
      return [...sorter.sort()];
    });
    assert.equal(orders[0], orders[1]);
  });
  test(`${name}: adding a client twice is a bug`, () => {
    const sorter = make(total, seededRng(1));
    sorter.add('a', 1, Resources.empty);
    assert.throws(() => sorter.add('a', 1, Resources.empty));
  });
}

conformance('drf', drfSorter);
conformance('random', randomSorter);

test('drf: the client with the smallest dominant share comes first', () => {
  const sorter = drfSorter(total, seededRng(7));
  sorter.add('cpu-heavy', 1, Resources.of({ cpus: 3 }));
  sorter.add('mem-heavy', 1, Resources.of({ mem: 200 }));
  sorter.add('idle', 1, Resources.empty);
  assert.equal(sorter.sort(), ['idle', 'mem-heavy', 'cpu-heavy']);
  sorter.allocated('idle', Resources.of({ cpus: 5 }));
  assert.equal(sorter.sort(), ['mem-heavy', 'cpu-heavy', 'idle']);
  assert.is(sorter.share('idle'), 0.5);
});

test('drf: weight divides the share', () => {
  const sorter = drfSorter(total, seededRng(7));
  sorter.add('heavy', 4, Resources.of({ cpus: 4 }));
  sorter.add('light', 1, Resources.of({ cpus: 2 }));
  assert.equal(sorter.sort(), ['heavy', 'light']);
  assert.is(sorter.share('heavy'), 0.1);
});

test('random: a heavier client comes first more often', () => {
  const sorter = randomSorter(total, seededRng(3));
  sorter.add('heavy', 4, Resources.empty);
  sorter.add('light', 1, Resources.empty);
  let heavyFirst = 0;
  for (let round = 0; round < 1000; round++) if (sorter.sort()[0] === 'heavy') heavyFirst++;
  assert.ok(heavyFirst > 700 && heavyFirst < 880, `heavy first ${heavyFirst}/1000, expected ~800`);
});

test.run();
