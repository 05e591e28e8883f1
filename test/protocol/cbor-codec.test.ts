import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCbor, encodeCbor } from '../../protocol/index.js';

const roundTrip = (value: unknown): unknown => {
  const decoded = decodeCbor(encodeCbor(value));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  return decoded.ok ? decoded.value : undefined;
};

test('fields left undefined are absent, however deep, and the strict reader takes the result', () => {
  const value = {
    a: 1,
    gone: undefined,
    nested: { keep: 'x', gone: undefined, list: [{ b: 2, gone: undefined }] },
  };
  assert.equal(roundTrip(value), { a: 1, nested: { keep: 'x', list: [{ b: 2 }] } });
  // The caller's value is left as it was.
  assert.ok(Object.hasOwn(value.nested, 'gone'));
});

test('values without undefined come back equal, bytes included', () => {
  const value = {
    text: 'hello',
    number: 1.5,
    integer: -3,
    flag: true,
    none: null,
    bytes: new Uint8Array([1, 2, 3]),
    list: [1, 'two', { three: 3 }],
  };
  const { bytes, ...rest } = roundTrip(value) as typeof value;
  assert.equal({ ...rest, bytes: [...bytes] }, { ...value, bytes: [1, 2, 3] });
});

test('an object with a prototype is written as its own fields', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
    get sum(): number {
      return this.x + this.y;
    }
  }
  assert.equal(roundTrip({ point: new Point(1, 2) }), { point: { x: 1, y: 2 } });
});

test.run();
