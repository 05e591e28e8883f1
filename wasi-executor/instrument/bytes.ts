/**
 * Bounds-checked reading and growable writing of wasm binary encodings.
 * Every read past `end` or malformed LEB128 throws ParseFailure (caught at the
 * public entry point), so no input can make the parser read out of bounds.
 */
import { assert } from '../../lib/assert.js';
import { ParseFailure, type InstrumentErrorCode } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class Reader {
  /** Which section is being read, for error messages. */
  section = 'header';

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    public end: number,
  ) {
    assert(end <= bytes.length, 'reader end within the buffer');
    assert(pos <= end, 'reader starts before its end');
  }

  fail(message: string, code: InstrumentErrorCode = 'malformed', offset = this.pos): never {
    throw new ParseFailure(code, this.section, offset, message);
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end of data');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128, at most 5 bytes, value below 2^32. */
  u32(): number {
    const first = this.byte();
    if (first < 0x80) return first;
    let result = first & 0x7f;
    let scale = 0x80;
    for (let index = 1; index < 5; index++) {
      const next = this.byte();
      if (index === 4 && next > 0x0f)
        this.fail('u32 LEB128 out of range', 'malformed', this.pos - 1);
      result += (next & 0x7f) * scale;
      if (next < 0x80) return result;
      scale *= 0x80;
    }
    return this.fail('u32 LEB128 too long');
  }

  /** A count of items each at least `bytesPerItemMin` long: refuses counts the data cannot hold. */
  count(bytesPerItemMin = 1): number {
    const at = this.pos;
    const value = this.u32();
    if (value * bytesPerItemMin > this.end - this.pos)
      this.fail(`count ${value} exceeds the data`, 'malformed', at);
    return value;
  }

  /** Skips a signed LEB128 of at most `bytesMax` bytes. */
  skipSigned(bytesMax: number): void {
    for (let index = 0; index < bytesMax; index++) {
      if (this.byte() < 0x80) return;
    }
    this.fail('signed LEB128 too long');
  }

  /** A signed 33-bit LEB128 (block types), as a number. */
  s33(): number {
    let result = 0;
    let scale = 1;
    for (let index = 0; index < 5; index++) {
      const next = this.byte();
      result += (next & 0x7f) * scale;
      scale *= 0x80;
      if (next < 0x80) return next & 0x40 ? result - scale : result;
    }
    return this.fail('s33 LEB128 too long');
  }

  skip(byteCount: number): void {
    if (byteCount > this.end - this.pos) this.fail('unexpected end of data');
    this.pos += byteCount;
  }

  /** A length-prefixed UTF-8 name (decoded leniently; the engine validates it). */
  name(): string {
    const length = this.u32();
    const start = this.pos;
    this.skip(length);
    return utf8.decode(this.bytes.subarray(start, start + length));
  }
}

/** A u32 LEB128 padded to its maximum length, so it can be written before its value is known. */
export const PADDED_U32_BYTES = 5;

export class Writer {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacityBytes = 256) {
    this.buffer = new Uint8Array(Math.max(16, capacityBytes));
  }

  private reserve(byteCount: number): void {
    if (this.length + byteCount > this.buffer.length) this.grow(this.length + byteCount);
  }

  private grow(neededBytes: number): void {
    let capacity = this.buffer.length * 2;
    while (capacity < neededBytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    if (this.length >= this.buffer.length) this.grow(this.length + 1);
    this.buffer[this.length++] = value;
  }

  u32(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, 'u32 in range');
    this.reserve(5);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  /** Signed LEB128 of a safe integer (i64.const immediates). */
  s64(value: number): void {
    assert(Number.isSafeInteger(value), 's64 is a safe integer');
    this.reserve(10);
    let rest = value;
    for (;;) {
      const low = ((rest % 0x80) + 0x80) % 0x80;
      rest = (rest - low) / 0x80;
      const done = (rest === 0 && (low & 0x40) === 0) || (rest === -1 && (low & 0x40) !== 0);
      this.buffer[this.length++] = done ? low : low | 0x80;
      if (done) return;
    }
  }

  /** Reserves a padded u32 to patch later; returns its position. */
  reservePaddedU32(): number {
    this.reserve(PADDED_U32_BYTES);
    const at = this.length;
    this.length += PADDED_U32_BYTES;
    return at;
  }

  patchPaddedU32(at: number, value: number): void {
    assert(at + PADDED_U32_BYTES <= this.length, 'patch inside what was written');
    assert(value >= 0 && value <= 0xffff_ffff, 'u32 in range');
    let rest = value;
    for (let index = 0; index < PADDED_U32_BYTES - 1; index++) {
      this.buffer[at + index] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[at + PADDED_U32_BYTES - 1] = rest;
  }

  copy(source: Uint8Array, start: number, end: number): void {
    assert(start <= end, 'copy range is ordered');
    const count = end - start;
    if (this.length + count > this.buffer.length) this.grow(this.length + count);
    const buffer = this.buffer;
    if (count < 32) {
      // Short runs: a loop beats allocating a subarray view.
      let target = this.length;
      for (let index = start; index < end; index++) buffer[target++] = source[index]!;
    } else {
      buffer.set(source.subarray(start, end), this.length);
    }
    this.length += count;
  }

  append(source: Uint8Array): void {
    this.copy(source, 0, source.length);
  }

  name(text: string): void {
    const encoded = new TextEncoder().encode(text);
    this.u32(encoded.length);
    this.append(encoded);
  }

  /** A view of what was written; valid until the next write or reset. */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}
