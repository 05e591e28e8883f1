import { assert } from '../lib/assert.js';
import { err, ok, type Result } from '../lib/result.js';
import { protocolError, type ProtocolError } from './errors.js';
import { protocolLimits } from './limits.js';

/**
 * RecordIO framing, as in Mesos's streaming APIs: each record is `<decimal length>\n<bytes>`.
 * Streams of events (master → framework, master → agent) are sequences of such records.
 */

const NEWLINE = 0x0a;
const DIGIT_ZERO = 0x30;
const DIGIT_NINE = 0x39;

export function encodeRecord(
  record: Uint8Array,
  recordBytesMax: number = protocolLimits.recordBytesMax,
): Uint8Array {
  assert(
    record.length <= recordBytesMax,
    `a record of ${record.length} bytes exceeds recordBytesMax`,
  );
  const prefix = Buffer.from(`${record.length}\n`, 'latin1');
  const framed = new Uint8Array(prefix.length + record.length);
  framed.set(prefix, 0);
  framed.set(record, prefix.length);
  return framed;
}

/**
 * A streaming decoder: push chunks as they arrive (split anywhere), get whole records back.
 * Memory is bounded: it holds at most one record (≤ recordBytesMax, allocated only once its
 * length prefix has been accepted) plus a length prefix of at most `recordLengthDigitsMax`
 * digits. A length that is not decimal (or has a leading zero, or no digits), has too many
 * digits, or exceeds recordBytesMax is an error, and so is every push after it: a stream whose
 * framing is lost cannot be resynchronised.
 */
export class RecordIoDecoder {
  private digits = '';
  private record: Uint8Array | undefined;
  private filled = 0;
  private failure: ProtocolError | undefined;

  constructor(readonly recordBytesMax: number = protocolLimits.recordBytesMax) {
    assert(
      Number.isInteger(recordBytesMax) && recordBytesMax >= 0,
      'recordBytesMax is a natural number',
    );
  }

  /** Decodes what it can from the chunk; returns the records completed by it, in order. */
  push(chunk: Uint8Array): Result<Uint8Array[], ProtocolError> {
    if (this.failure) return err(this.failure);
    const records: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      offset = this.record ? this.fill(chunk, offset) : this.readLength(chunk, offset);
      if (this.failure) return err(this.failure);
      if (this.record && this.filled === this.record.length) {
        records.push(this.record);
        this.record = undefined;
      }
    }
    return ok(records);
  }

  /** At the end of the stream: an error if it stopped inside a record or a length prefix. */
  end(): Result<void, ProtocolError> {
    if (this.failure) return err(this.failure);
    if (this.record || this.digits.length > 0) {
      return err(protocolError('MALFORMED', 'stream ended inside a record'));
    }
    return ok(undefined);
  }

  /** Bytes held for the record and prefix in progress (allocated record size included). */
  get bufferedBytes(): number {
    return this.digits.length + (this.record?.length ?? 0);
  }

  private readLength(chunk: Uint8Array, start: number): number {
    for (let offset = start; offset < chunk.length; offset++) {
      const byte = chunk[offset]!;
      if (byte === NEWLINE) {
        this.startRecord();
        return offset + 1;
      }
      if (byte < DIGIT_ZERO || byte > DIGIT_NINE) {
        this.fail('MALFORMED', `RecordIO length has a non-digit byte 0x${byte.toString(16)}`);
        return chunk.length;
      }
      if (this.digits === '0') {
        this.fail('MALFORMED', 'RecordIO length has a leading zero');
        return chunk.length;
      }
      this.digits += String.fromCharCode(byte);
      if (this.digits.length > protocolLimits.recordLengthDigitsMax) {
        this.fail(
          'TOO_LARGE',
          `RecordIO length has more than ${protocolLimits.recordLengthDigitsMax} digits`,
        );
        return chunk.length;
      }
    }
    return chunk.length;
  }

  private startRecord(): void {
    if (this.digits.length === 0) {
      this.fail('MALFORMED', 'RecordIO length is empty');
      return;
    }
    const length = Number(this.digits);
    this.digits = '';
    if (length > this.recordBytesMax) {
      this.fail(
        'TOO_LARGE',
        `RecordIO record of ${length} bytes exceeds recordBytesMax ${this.recordBytesMax}`,
      );
      return;
    }
    this.record = new Uint8Array(length);
    this.filled = 0;
  }

  private fill(chunk: Uint8Array, start: number): number {
    assert(this.record !== undefined, 'fill needs a record in progress');
    const take = Math.min(this.record.length - this.filled, chunk.length - start);
    this.record.set(chunk.subarray(start, start + take), this.filled);
    this.filled += take;
    assert(this.filled <= this.record.length, 'a record never overfills');
    return start + take;
  }

  private fail(code: 'MALFORMED' | 'TOO_LARGE', message: string): void {
    this.failure = protocolError(code, message);
    this.record = undefined;
    this.digits = '';
  }
}
