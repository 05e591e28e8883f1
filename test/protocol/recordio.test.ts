import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { encodeRecord, protocolLimits, RecordIoDecoder } from '../../protocol/index.js';

const latin1 = (text: string) => Uint8Array.from(Buffer.from(text, 'latin1'));

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

function splitAt(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((point) => point % (bytes.length + 1)))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

function decodeAll(decoder: RecordIoDecoder, chunks: readonly Uint8Array[]): Uint8Array[] | string {
  const records: Uint8Array[] = [];
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    if (!result.ok) return result.error.code;
    records.push(...result.value);
  }
  const end = decoder.end();
  return end.ok ? records : end.error.code;
}

test('a record is framed as its decimal length, a newline, then its bytes', () => {
  assert.equal(encodeRecord(latin1('hello')), latin1('5\nhello'));
  assert.equal(encodeRecord(new Uint8Array(0)), latin1('0\n'));
});

test('records split at random points across chunks decode to the same records', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30, size: 'max' }),
      (records, points) => {
        const stream = concat(records.map((record) => encodeRecord(record)));
        const decoded = decodeAll(new RecordIoDecoder(), splitAt(stream, points));
        assert.equal(
          decoded,
          records.map((record) => Uint8Array.from(record)),
        );
      },
    ),
  );
});

test('a stream fed one byte at a time decodes the same records', () => {
  const records = [latin1('a'), latin1(''), latin1('x'.repeat(1000))];
  const stream = concat(records.map((record) => encodeRecord(record)));
  const chunks = [...stream].map((byte) => Uint8Array.of(byte));
  assert.equal(decodeAll(new RecordIoDecoder(), chunks), records);
});

test('a length over recordBytesMax is refused as TOO_LARGE before its bytes arrive', () => {
  const decoder = new RecordIoDecoder(100);
  const result = decoder.push(latin1('101\n'));
  assert.is(result.ok ? 'ok' : result.error.code, 'TOO_LARGE');
  assert.is(decoder.bufferedBytes, 0);
});

test('a length with too many digits is refused without waiting for the newline', () => {
  const result = new RecordIoDecoder().push(
    latin1('1'.repeat(protocolLimits.recordLengthDigitsMax + 1)),
  );
  assert.is(result.ok ? 'ok' : result.error.code, 'TOO_LARGE');
});

test('a length that is not decimal, empty, or zero-padded is refused as MALFORMED', () => {
  for (const garbage of ['12a\n', '\n', '-5\n', ' 5\n', '0x10\n', '05\nhello', '5\r\nhello']) {
    const result = new RecordIoDecoder().push(latin1(garbage));
    assert.is(result.ok ? 'ok' : result.error.code, 'MALFORMED', JSON.stringify(garbage));
  }
});

test('after a framing error every later push fails too', () => {
  const decoder = new RecordIoDecoder();
  assert.is(decoder.push(latin1('x')).ok, false);
  assert.is(decoder.push(latin1('1\na')).ok, false);
  assert.is(decoder.end().ok, false);
});

test('a stream that ends inside a record is an error at end', () => {
  const decoder = new RecordIoDecoder();
  assert.ok(decoder.push(latin1('5\nhel')).ok);
  assert.is(decoder.end().ok, false);
});

test('garbage never throws and never buffers more than a record plus its prefix', () => {
  const recordBytesMax = 64;
  // Mostly digits and newlines, so garbage often gets past the first byte.
  const byte = fc.oneof(
    fc.constantFrom(...latin1('0123456789\n')),
    fc.integer({ min: 0, max: 255 }),
  );
  const chunk = fc
    .array(byte, { maxLength: 40, size: 'max' })
    .map((bytes) => Uint8Array.from(bytes));
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 20, size: 'max' }), (chunks) => {
      const decoder = new RecordIoDecoder(recordBytesMax);
      for (const piece of chunks) {
        const result = decoder.push(piece);
        assert.ok(decoder.bufferedBytes <= recordBytesMax + protocolLimits.recordLengthDigitsMax);
        if (!result.ok) assert.ok(['MALFORMED', 'TOO_LARGE'].includes(result.error.code));
        else for (const record of result.value) assert.ok(record.length <= recordBytesMax);
      }
    }),
    { numRuns: 1000 },
  );
});

test('the encoder refuses a record over recordBytesMax (a sender bug)', () => {
  assert.throws(() => encodeRecord(new Uint8Array(11), 10), /recordBytesMax/);
});

test.run();
