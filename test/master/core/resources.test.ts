import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { InvariantError } from '../../../lib/assert.js';
import {
  dominantShare,
  parseResources,
  Resources,
  resourcesFromPlain,
} from '../../../master/core/resources.js';

test('0.1 + 0.2 cpus is exactly 0.3 cpus', () => {
  const sum = Resources.of({ cpus: 0.1 }).add(Resources.of({ cpus: 0.2 }));
  assert.ok(sum.equals(Resources.of({ cpus: 0.3 })));
  assert.is(sum.scalar('cpus'), 0.3);
  assert.is(sum.scalarMilli('cpus'), 300);
});

test('scalars keep three decimal places, as in Mesos', () => {
  assert.is(Resources.of({ mem: 32.0004 }).scalarMilli('mem'), 32000);
  assert.is(Resources.of({ mem: 32.0005 }).scalarMilli('mem'), 32001);
});

test('subtracting returns to the original and drops zero scalars', () => {
  const agent = Resources.of({ cpus: 4, mem: 4096, ports: [[31000, 31999]] });
  const task = Resources.of({ cpus: 0.7, mem: 100, ports: [[31005, 31010]] });
  const left = agent.subtract(task);
  assert.is(left.scalar('cpus'), 3.3);
  assert.equal(left.rangesOf('ports'), [
    { begin: 31000, end: 31004 },
    { begin: 31011, end: 31999 },
  ]);
  assert.ok(left.add(task).equals(agent));
  assert.ok(task.subtract(task).isEmpty());
});

test('subtracting more than is held is a bug and throws an invariant error', () => {
  assert.throws(
    () => Resources.of({ cpus: 1 }).subtract(Resources.of({ cpus: 1.001 })),
    (error: unknown) => error instanceof InvariantError,
  );
  assert.throws(
    () => Resources.of({ ports: [[1, 5]] }).subtract(Resources.of({ ports: [[5, 6]] })),
    (error: unknown) => error instanceof InvariantError,
  );
});

test('ranges coalesce when added and contain exactly', () => {
  const ports = Resources.of({ ports: [[10, 19]] }).add(Resources.of({ ports: [[20, 29]] }));
  assert.equal(ports.rangesOf('ports'), [{ begin: 10, end: 29 }]);
  assert.ok(ports.contains(Resources.of({ ports: [[15, 25]] })));
  assert.not.ok(ports.contains(Resources.of({ ports: [[25, 30]] })));
  assert.not.ok(ports.contains(Resources.of({ cpus: 0.001 })));
});

test('bad input is a typed error, not a throw', () => {
  assert.is(parseResources({ cpus: -1 }).ok, false);
  assert.is(parseResources({ cpus: Number.NaN }).ok, false);
  assert.is(parseResources({ 'Bad Name': 1 }).ok, false);
  assert.is(parseResources({ ports: [[5, 1]] }).ok, false);
  assert.is(
    parseResources({
      ports: [
        [1, 5],
        [5, 9],
      ],
    }).ok,
    false,
  );
  assert.is(parseResources({ ports: [[1.5, 5]] }).ok, false);
});

test('plain form round-trips and prints like Mesos', () => {
  const set = Resources.of({ mem: 128, cpus: 0.5, ports: [[31000, 31009]] });
  const back = resourcesFromPlain(set.toPlain());
  assert.ok(back.ok && back.value.equals(set));
  assert.is(set.toString(), 'cpus:0.5;mem:128;ports:[31000-31009]');
});

test('dominant share is the largest fraction over scalar kinds', () => {
  const total = Resources.of({ cpus: 10, mem: 1000 });
  assert.is(dominantShare(Resources.of({ cpus: 1, mem: 500 }), total), 0.5);
  assert.is(dominantShare(Resources.of({ cpus: 5, gpus: 1 }), total), 0.5);
  assert.is(dominantShare(Resources.empty, total), 0);
});

const scalarSet = fc
  .record({
    cpus: fc.integer({ min: 0, max: 64_000 }),
    mem: fc.integer({ min: 0, max: 1_000_000 }),
  })
  .map((milli) => Resources.of({ cpus: milli.cpus / 1000, mem: milli.mem / 1000 }));
const portSet = fc
  .array(fc.integer({ min: 0, max: 200 }), { maxLength: 20 })
  .map((ports) => [...new Set(ports)].map((port) => [port, port] as const))
  .map((pairs) => Resources.of({ ports: pairs }));

test('property: (a + b) − b = a and a + b contains both', () => {
  fc.assert(
    fc.property(scalarSet, portSet, scalarSet, (a, ports, b) => {
      // b is scalars only: ranges are one agent's and adding the same port twice is a bug.
      const left = a.add(ports);
      const sum = left.add(b);
      return sum.contains(left) && sum.contains(b) && sum.subtract(b).equals(left);
    }),
  );
});

test('property: range subtraction leaves exactly the ports not taken', () => {
  const split = fc.uniqueArray(
    fc.record({ port: fc.integer({ min: 0, max: 200 }), left: fc.boolean() }),
    {
      selector: (item) => item.port,
      maxLength: 30,
    },
  );
  fc.assert(
    fc.property(split, (items) => {
      // Ranges in one set are one agent's: the two sides share no port.
      const side = (left: boolean) =>
        Resources.of({
          ports: items
            .filter((item) => item.left === left)
            .map((item) => [item.port, item.port] as const),
        });
      const [a, b] = [side(true), side(false)];
      const union = a.add(b);
      const count = (set: Resources) =>
        set.rangesOf('ports').reduce((sum, range) => sum + range.end - range.begin + 1, 0);
      const rest = union.subtract(b);
      return count(union) === items.length && rest.equals(a) && rest.add(b).equals(union);
    }),
  );
});

test.run();
