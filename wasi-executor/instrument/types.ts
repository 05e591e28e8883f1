/** Value types and block types of the features the instrumenter supports. */
import type { Reader } from './bytes.js';

/** i32, i64, f32, f64, v128, funcref, externref: each one byte. */
export function isValueTypeByte(byte: number): boolean {
  return (byte >= 0x7b && byte <= 0x7f) || byte === 0x70 || byte === 0x6f;
}

export function isReferenceTypeByte(byte: number): boolean {
  return byte === 0x70 || byte === 0x6f;
}

/** Reads one value type; typed references (GC, function references) are refused. */
export function readValueType(reader: Reader): number {
  const at = reader.pos;
  const byte = reader.byte();
  if (isValueTypeByte(byte)) return byte;
  if (byte === 0x63 || byte === 0x64 || (byte >= 0x65 && byte <= 0x6e) || byte === 0x69) {
    return reader.fail(
      `value type 0x${byte.toString(16)} (GC / typed references)`,
      'unsupported',
      at,
    );
  }
  return reader.fail(`unknown value type 0x${byte.toString(16)}`, 'malformed', at);
}

export function readReferenceType(reader: Reader): number {
  const at = reader.pos;
  const byte = readValueType(reader);
  if (!isReferenceTypeByte(byte)) reader.fail('expected a reference type', 'malformed', at);
  return byte;
}

/** Reads a block type: empty, one value type, or a type index below `typeCount`. */
export function readBlockType(reader: Reader, typeCount: number): void {
  const at = reader.pos;
  const first = reader.pos < reader.end ? reader.bytes[reader.pos] : undefined;
  if (first !== undefined && (first === 0x40 || isValueTypeByte(first))) {
    reader.pos++;
    return;
  }
  const value = reader.s33();
  if (value < 0) reader.fail('block type with a typed reference', 'unsupported', at);
  if (value >= typeCount) reader.fail(`block type index ${value} out of range`, 'malformed', at);
}
