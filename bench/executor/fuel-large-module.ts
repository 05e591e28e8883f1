/**
 * Builds a large, realistic core module for timing the instrumenter when no
 * componentize-js component is at hand: the defined functions of a clang-built
 * module are appended again `copies` times (same types, same bodies, so every
 * call still targets an original function and the result stays valid).
 */
import { assert } from '../../lib/assert.js';
import { Reader, Writer } from '../../wasi-executor/instrument/bytes.js';

const SECTION_FUNCTION = 3;
const SECTION_CODE = 10;

interface Section {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

function sections(bytes: Uint8Array): Section[] {
  const reader = new Reader(bytes, 8, bytes.length);
  const found: Section[] = [];
  while (!reader.atEnd) {
    const id = reader.byte();
    const size = reader.u32();
    found.push({ id, start: reader.pos, end: reader.pos + size });
    reader.skip(size);
  }
  return found;
}

/** Repeats the vector in `section` (count + items) `copies` extra times. */
function repeatVector(bytes: Uint8Array, section: Section, copies: number): Uint8Array {
  const reader = new Reader(bytes, section.start, section.end);
  const count = reader.u32();
  const out = new Writer((section.end - section.start) * (copies + 1) + 16);
  out.u32(count * (copies + 1));
  for (let copy = 0; copy <= copies; copy++) out.copy(bytes, reader.pos, section.end);
  return out.view();
}

export function enlargeModule(bytes: Uint8Array, copies: number): Uint8Array {
  assert(copies >= 0, 'copies is not negative');
  const out = new Writer(bytes.length * (copies + 1));
  out.copy(bytes, 0, 8);
  for (const section of sections(bytes)) {
    const payload =
      section.id === SECTION_FUNCTION || section.id === SECTION_CODE
        ? repeatVector(bytes, section, copies)
        : bytes.subarray(section.start, section.end);
    out.byte(section.id);
    out.u32(payload.length);
    out.append(payload);
  }
  return out.view().slice();
}
