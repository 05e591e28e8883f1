/**
 * Rewriters for the sections that name functions or globals by index outside
 * function bodies (globals, exports, start, elements, data, names): each
 * copies its section, shifting indices past the added imports.
 */
import { Writer, type Reader } from './bytes.js';
import { remapFunction, remapGlobal, type IndexSpace } from './body.js';
import { readReferenceType, readValueType } from './types.js';

const EXPORT_FUNCTION = 0;
const EXPORT_GLOBAL = 3;

function functionIndex(reader: Reader, space: IndexSpace): number {
  const at = reader.pos;
  const index = reader.u32();
  if (index >= space.funcCount)
    reader.fail(`function index ${index} out of range`, 'malformed', at);
  if (space.referenced !== undefined && index >= space.importedFuncCount)
    space.referenced[index - space.importedFuncCount] = 1;
  return remapFunction(space, index);
}

function globalIndex(reader: Reader, space: IndexSpace): number {
  const at = reader.pos;
  const index = reader.u32();
  if (index >= space.globalCount)
    reader.fail(`global index ${index} out of range`, 'malformed', at);
  return remapGlobal(space, index);
}

/** Copies a constant expression up to and including its `end`. */
export function copyConstExpr(reader: Reader, out: Writer, space: IndexSpace): void {
  for (;;) {
    const opStart = reader.pos;
    const op = reader.byte();
    switch (op) {
      case 0x0b:
        out.byte(op);
        return;
      case 0x23:
        out.byte(op);
        out.u32(globalIndex(reader, space));
        continue;
      case 0xd2:
        out.byte(op);
        out.u32(functionIndex(reader, space));
        continue;
      case 0x41:
        reader.skipSigned(5);
        break;
      case 0x42:
        reader.skipSigned(10);
        break;
      case 0x43:
        reader.skip(4);
        break;
      case 0x44:
        reader.skip(8);
        break;
      case 0xd0:
        readReferenceType(reader);
        break;
      case 0x6a: // extended constant expressions: i32.add/sub/mul, i64.add/sub/mul
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd:
        if (reader.u32() !== 12)
          reader.fail('SIMD instruction in a constant expression', 'malformed', opStart);
        reader.skip(16);
        break;
      default:
        reader.fail(
          `instruction 0x${op.toString(16)} in a constant expression`,
          'malformed',
          opStart,
        );
    }
    out.copy(reader.bytes, opStart, reader.pos);
  }
}

/** A global or export the rewriter adds in front of (globals) or after (exports) the module's own. */
export interface AddedEntries {
  /** The fuel counter: `(global (mut i64) (i64.const 0))`, exported under `exportName`. */
  readonly fuelCounter?: { readonly exportName: string; readonly globalIndex: number };
}

/** The bytes of the defined fuel counter: mutable i64, initialized to 0. */
export const FUEL_COUNTER_GLOBAL = [0x7e, 0x01, 0x42, 0x00, 0x0b] as const;

export function rewriteGlobals(
  reader: Reader,
  out: Writer,
  space: IndexSpace,
  added: AddedEntries = {},
): void {
  const count = reader.count(3);
  // The defined counter is the first defined global (index = imported globals, where the imported one was).
  out.u32(count + (added.fuelCounter === undefined ? 0 : 1));
  if (added.fuelCounter !== undefined) for (const byte of FUEL_COUNTER_GLOBAL) out.byte(byte);
  for (let index = 0; index < count; index++) {
    const start = reader.pos;
    readValueType(reader);
    const mutability = reader.byte();
    if (mutability > 1) reader.fail('global mutability is not 0 or 1', 'malformed', reader.pos - 1);
    out.copy(reader.bytes, start, reader.pos);
    copyConstExpr(reader, out, space);
  }
}

export function rewriteExports(
  reader: Reader,
  out: Writer,
  space: IndexSpace,
  added: AddedEntries = {},
): void {
  const count = reader.count(3);
  const counter = added.fuelCounter;
  out.u32(count + (counter === undefined ? 0 : 1));
  if (counter !== undefined) {
    out.name(counter.exportName);
    out.byte(EXPORT_GLOBAL);
    out.u32(counter.globalIndex);
  }
  for (let index = 0; index < count; index++) {
    const start = reader.pos;
    const name = reader.name();
    if (counter !== undefined && name === counter.exportName)
      reader.fail(`an export named "${name}": already instrumented`, 'already_instrumented', start);
    const kind = reader.byte();
    out.copy(reader.bytes, start, reader.pos);
    if (kind === EXPORT_FUNCTION) out.u32(functionIndex(reader, space));
    else if (kind === EXPORT_GLOBAL) out.u32(globalIndex(reader, space));
    else if (kind <= 4) out.u32(reader.u32());
    else reader.fail(`unknown export kind ${kind}`, 'malformed', reader.pos - 1);
  }
}

export function rewriteStart(reader: Reader, out: Writer, space: IndexSpace): void {
  out.u32(functionIndex(reader, space));
}

function copyFunctionIndices(reader: Reader, out: Writer, space: IndexSpace): void {
  const count = reader.count(1);
  out.u32(count);
  for (let index = 0; index < count; index++) out.u32(functionIndex(reader, space));
}

function copyExpressions(reader: Reader, out: Writer, space: IndexSpace): void {
  const count = reader.count(1);
  out.u32(count);
  for (let index = 0; index < count; index++) copyConstExpr(reader, out, space);
}

function copyElementKind(reader: Reader, out: Writer): void {
  const at = reader.pos;
  const kind = reader.byte();
  if (kind !== 0) reader.fail(`unknown element kind ${kind}`, 'malformed', at);
  out.byte(kind);
}

function copyReferenceType(reader: Reader, out: Writer): void {
  out.byte(readReferenceType(reader));
}

export function rewriteElements(reader: Reader, out: Writer, space: IndexSpace): void {
  const count = reader.count(2);
  out.u32(count);
  for (let segment = 0; segment < count; segment++) {
    const at = reader.pos;
    const flags = reader.u32();
    out.u32(flags);
    if (flags > 7) reader.fail(`unknown element segment flags ${flags}`, 'malformed', at);
    const explicitTable = flags === 2 || flags === 6;
    const active = (flags & 1) === 0;
    if (explicitTable) out.u32(reader.u32());
    if (active) copyConstExpr(reader, out, space);
    const usesExpressions = (flags & 4) !== 0;
    // Flags 0 and 4 have no kind/type byte: funcref is implied.
    if (flags !== 0 && flags !== 4) {
      if (usesExpressions) copyReferenceType(reader, out);
      else copyElementKind(reader, out);
    }
    if (usesExpressions) copyExpressions(reader, out, space);
    else copyFunctionIndices(reader, out, space);
  }
}

export function rewriteData(reader: Reader, out: Writer, space: IndexSpace): void {
  const count = reader.count(2);
  out.u32(count);
  for (let segment = 0; segment < count; segment++) {
    const at = reader.pos;
    const flags = reader.u32();
    out.u32(flags);
    if (flags > 2) reader.fail(`unknown data segment flags ${flags}`, 'malformed', at);
    if (flags === 2) out.u32(reader.u32());
    if (flags !== 1) copyConstExpr(reader, out, space);
    const length = reader.u32();
    const start = reader.pos;
    reader.skip(length);
    out.u32(length);
    out.copy(reader.bytes, start, reader.pos);
  }
}

const NAMES_FUNCTIONS = 1;
const NAMES_LOCALS = 2;
const NAMES_LABELS = 3;
const NAMES_GLOBALS = 7;

function copyName(reader: Reader, out: Writer): void {
  const start = reader.pos;
  reader.name();
  out.copy(reader.bytes, start, reader.pos);
}

function rewriteNameMap(reader: Reader, out: Writer, remap: (index: number) => number): void {
  const count = reader.count(2);
  out.u32(count);
  for (let index = 0; index < count; index++) {
    out.u32(remap(reader.u32()));
    copyName(reader, out);
  }
}

/**
 * Function names; with fuel passed in arguments a defined function's internal
 * version gets its name too (stack traces), after the original indices.
 */
function rewriteFunctionNames(reader: Reader, out: Writer, space: IndexSpace): void {
  const count = reader.count(2);
  const internal: { index: number; start: number; end: number }[] = [];
  const entries = new Writer(reader.end - reader.pos + 16);
  for (let entry = 0; entry < count; entry++) {
    const index = reader.u32();
    entries.u32(remapFunction(space, index));
    const start = reader.pos;
    copyName(reader, entries);
    if (
      space.internalBase !== undefined &&
      index >= space.importedFuncCount &&
      index < space.funcCount
    )
      internal.push({
        index: space.internalBase + index - space.importedFuncCount,
        start,
        end: reader.pos,
      });
  }
  out.u32(count + internal.length);
  out.append(entries.view());
  for (const entry of internal) {
    out.u32(entry.index);
    out.copy(reader.bytes, entry.start, entry.end);
  }
}

function rewriteIndirectNameMap(
  reader: Reader,
  out: Writer,
  remap: (index: number) => number,
): void {
  const count = reader.count(2);
  out.u32(count);
  for (let index = 0; index < count; index++) {
    out.u32(remap(reader.u32()));
    rewriteNameMap(reader, out, (inner) => inner);
  }
}

/**
 * The "name" section (debug names): function, local, label and global names
 * are keyed by index and shifted; other subsections are copied.
 */
export function rewriteNames(
  reader: Reader,
  out: Writer,
  space: IndexSpace,
  scratch: Writer,
): void {
  const byFunction = (index: number): number => remapFunction(space, index);
  const byGlobal = (index: number): number => remapGlobal(space, index);
  while (!reader.atEnd) {
    const id = reader.byte();
    const size = reader.u32();
    const start = reader.pos;
    reader.skip(size);
    const end = reader.pos;
    reader.pos = start;
    const sectionEnd = reader.end;
    reader.end = end;
    scratch.reset();
    if (id === NAMES_FUNCTIONS) rewriteFunctionNames(reader, scratch, space);
    else if (id === NAMES_GLOBALS) rewriteNameMap(reader, scratch, byGlobal);
    else if (id === NAMES_LOCALS || id === NAMES_LABELS)
      rewriteIndirectNameMap(reader, scratch, byFunction);
    else reader.pos = end;
    if (reader.pos !== end) reader.fail('name subsection size mismatch');
    if (scratch.length === 0) scratch.copy(reader.bytes, start, end);
    reader.pos = end;
    reader.end = sectionEnd;
    out.byte(id);
    out.u32(scratch.length);
    out.append(scratch.view());
  }
}
