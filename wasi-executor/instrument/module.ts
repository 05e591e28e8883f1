/**
 * The module-level rewrite: parses the sections, turns every defined memory
 * and table into an import, adds the fuel imports, shifts function and global
 * indices past them and instruments every function body.
 */
import { assert } from '../../lib/assert.js';
import {
  ADDED_FUNCTION_IMPORTS,
  FUEL_GLOBAL_EXPORT,
  FUEL_GLOBAL_IMPORT,
  LIMITS_IMPORT_MODULE,
  MEMORY_GROW_RESULT_IMPORT,
  OUT_OF_FUEL_IMPORT,
  memoryImportName,
  tableImportName,
} from './abi.js';
import { BodyRewriter, type BodyStats, type FuelStrategy, type IndexSpace } from './body.js';
import { PADDED_U32_BYTES, Reader, Writer } from './bytes.js';
import { ParseFailure } from './errors.js';
import {
  FUEL_COUNTER_GLOBAL,
  rewriteData,
  rewriteElements,
  rewriteExports,
  rewriteGlobals,
  rewriteNames,
  rewriteStart,
  type AddedEntries,
} from './sections.js';
import { readReferenceType, readValueType } from './types.js';

const TYPE_I32 = 0x7f;
const TYPE_I64 = 0x7e;
/** Engines refuse functions with more parameters or results (the JS API's limits, V8's too). */
const FUNCTION_PARAMS_MAX = 1000;
const FUNCTION_RESULTS_MAX = 1000;
const FUNCTIONS_MAX = 1_000_000;
const OP_LOCAL_GET = 0x20;
const OP_GLOBAL_GET = 0x23;
const OP_GLOBAL_SET = 0x24;
const OP_CALL = 0x10;
const OP_END = 0x0b;
const EXPORT_KIND_GLOBAL = 3;

/**
 * Where the fuel counter lives: 'imported' (`wasmos.fuel`, one global shared
 * by every core module of a component) or 'exported' (the module defines it
 * and exports it as `wasmos:fuel`: faster access, one counter per module, for
 * hosts that run a single module). A module with a start function always
 * gets 'imported'.
 */
export type FuelCounter = 'imported' | 'exported';

/**
 * How a call hands the counter to a defined function: 'arguments' (internal
 * versions of the functions take it as an extra last parameter and return it
 * as an extra last result, so calls between them touch no global) or
 * 'global' (written to the global before the call, read back after).
 */
export type FuelPassing = 'arguments' | 'global';
const SECTION_DATA_COUNT = 12;
/** The custom section of the branch-hinting proposal (V8: --experimental-wasm-branch-hinting). */
const BRANCH_HINT_SECTION = 'metadata.code.branch_hint';

/** A memory the host must now create and pass as `wasmos.memory<N>`. */
export interface MemoryImport {
  readonly index: number;
  readonly importName: string;
  /** In 64 KiB pages, as the module declared them. */
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
  readonly shared: boolean;
}

/** A table the host must now create and pass as `wasmos.table<N>`. */
export interface TableImport {
  readonly index: number;
  readonly importName: string;
  readonly element: 'anyfunc' | 'externref';
  readonly initialElements: number;
  readonly maximumElements: number | undefined;
}

export interface RewriteResult {
  readonly bytes: Uint8Array;
  readonly memories: readonly MemoryImport[];
  readonly tables: readonly TableImport[];
  readonly stats: BodyStats;
  readonly droppedCustomSections: readonly string[];
  readonly fuelCounter: FuelCounter;
  readonly fuelPassing: FuelPassing;
}

const SECTION_CUSTOM = 0;
const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const SECTION_START = 8;
const SECTION_ELEMENT = 9;
const SECTION_CODE = 10;
const SECTION_DATA = 11;

/** The order sections must appear in (tag sits between memory and global). */
const SECTION_ORDER: readonly number[] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

const SECTION_NAMES: Readonly<Record<number, string>> = {
  0: 'custom',
  1: 'type',
  2: 'import',
  3: 'function',
  4: 'table',
  5: 'memory',
  6: 'global',
  7: 'export',
  8: 'start',
  9: 'element',
  10: 'code',
  11: 'data',
  12: 'datacount',
  13: 'tag',
};

const IMPORT_FUNCTION = 0;
const IMPORT_TABLE = 1;
const IMPORT_MEMORY = 2;
const IMPORT_GLOBAL = 3;
const IMPORT_TAG = 4;

interface Section {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  /** For custom sections: its name. */
  readonly name: string;
}

interface FuncType {
  readonly params: readonly number[];
  readonly results: readonly number[];
}

interface Limits {
  readonly flags: number;
  readonly minimum: number;
  readonly maximum: number | undefined;
}

const HEADER_CORE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const HEADER_BYTES = 8;

function readHeader(reader: Reader): void {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  for (const expected of magic) {
    if (reader.byte() !== expected)
      reader.fail('not a WebAssembly binary (bad magic)', 'malformed', 0);
  }
  const version = [reader.byte(), reader.byte(), reader.byte(), reader.byte()];
  if (version[0] === 0x0d && version[2] === 0x01) {
    reader.fail('a component, not a core module (transpile it first)', 'unsupported', 4);
  }
  if (version.join() !== '1,0,0,0')
    reader.fail(`unknown binary version ${version.join('.')}`, 'malformed', 4);
}

function splitSections(reader: Reader): Section[] {
  const sections: Section[] = [];
  let lastOrder = -1;
  while (!reader.atEnd) {
    const at = reader.pos;
    reader.section = 'section header';
    const id = reader.byte();
    const size = reader.u32();
    const start = reader.pos;
    reader.skip(size);
    const section = SECTION_NAMES[id];
    if (section === undefined) reader.fail(`unknown section id ${id}`, 'malformed', at);
    let name = '';
    if (id === SECTION_CUSTOM) {
      const nameReader = new Reader(reader.bytes, start, start + size);
      nameReader.section = 'custom';
      name = nameReader.name();
    } else {
      const order = SECTION_ORDER.indexOf(id);
      if (order <= lastOrder)
        reader.fail(`${section} section out of order or repeated`, 'malformed', at);
      lastOrder = order;
    }
    sections.push({ id, start, end: start + size, name });
  }
  return sections;
}

function readLimits(reader: Reader, what: 'memory' | 'table'): Limits {
  const at = reader.pos;
  const flags = reader.u32();
  if (flags & 0x04) reader.fail(`64-bit ${what}`, 'unsupported', at);
  if (flags & 0x08) reader.fail(`custom page sizes`, 'unsupported', at);
  if (flags > 3 || (what === 'table' && flags > 1))
    reader.fail(`unknown ${what} limits flags ${flags}`, 'malformed', at);
  const minimum = reader.u32();
  const maximum = flags & 1 ? reader.u32() : undefined;
  return { flags, minimum, maximum };
}

function writeLimits(out: Writer, limits: Limits): void {
  out.u32(limits.flags);
  out.u32(limits.minimum);
  if (limits.maximum !== undefined) out.u32(limits.maximum);
}

function sameTypes(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((value, index) => value === right[index]);
}

/** Holds the state of one rewrite; `run` is the only entry point. */
export class ModuleRewriter {
  private readonly sections: Section[];
  private readonly types: FuncType[] = [];
  private readonly addedTypes: FuncType[] = [];
  private readonly functionTypes: number[] = [];
  private readonly definedTables: { reference: number; limits: Limits }[] = [];
  private readonly definedMemories: Limits[] = [];
  private importCount = 0;
  private importedFuncs = 0;
  private importedGlobals = 0;
  private importedTables = 0;
  private importedMemories = 0;
  private definedGlobals = 0;
  private readonly internalTypes = new Map<number, number>();
  private readonly reader: Reader;

  private readonly bytes: Uint8Array;

  constructor(
    input: Uint8Array,
    private readonly strategy: FuelStrategy,
    private readonly fuelCounterAsked: FuelCounter = 'imported',
    private readonly fuelPassing: FuelPassing = 'arguments',
  ) {
    // A plain view: Node's Buffer (what readFile returns) has a much slower subarray.
    this.bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.reader = new Reader(this.bytes, 0, this.bytes.length);
    readHeader(this.reader);
    this.sections = splitSections(this.reader);
  }

  run(): RewriteResult {
    this.parseDeclarations();
    const space = this.indexSpace();
    // A start function runs inside instantiation, before the host can reach an export: keep the import then.
    const fuelCounter: FuelCounter =
      this.fuelCounterAsked === 'exported' &&
      !this.sections.some((section) => section.id === SECTION_START)
        ? 'exported'
        : 'imported';
    const added: AddedEntries =
      fuelCounter === 'exported'
        ? { fuelCounter: { exportName: FUEL_GLOBAL_EXPORT, globalIndex: space.fuelGlobalIndex } }
        : {};
    const rewriter = new BodyRewriter(space, this.strategy);
    const payloads = new Map<number, Uint8Array>();
    const customs: { after: number; name: string; payload: Uint8Array }[] = [];
    const dropped: string[] = [];
    let lastId = -1;
    for (const section of this.sections) {
      if (section.id === SECTION_CUSTOM) {
        // The input's branch hints name offsets the rewrite moved: ours replace them.
        if (section.name === BRANCH_HINT_SECTION) continue;
        const payload = this.rewriteCustom(section, space);
        if (payload === undefined) dropped.push(section.name);
        else customs.push({ after: lastId, name: section.name, payload });
        continue;
      }
      lastId = section.id;
      const payload = this.rewriteSection(section, space, rewriter, added);
      if (payload !== undefined) payloads.set(section.id, payload);
    }
    if (added.fuelCounter !== undefined) {
      // A module without globals or exports gets sections holding only the counter.
      if (!payloads.has(SECTION_GLOBAL)) {
        const globals = new Writer(8);
        globals.u32(1);
        for (const byte of FUEL_COUNTER_GLOBAL) globals.byte(byte);
        payloads.set(SECTION_GLOBAL, globals.view());
      }
      if (!payloads.has(SECTION_EXPORT)) {
        const exports = new Writer(32);
        exports.u32(1);
        exports.name(added.fuelCounter.exportName);
        exports.byte(EXPORT_KIND_GLOBAL);
        exports.u32(added.fuelCounter.globalIndex);
        payloads.set(SECTION_EXPORT, exports.view());
      }
    }
    const functionCount = this.functionTypes.length;
    if (functionCount > 0 && rewriter.stats.functions !== functionCount) {
      this.reader.section = 'code';
      this.reader.fail(
        `function section declares ${functionCount} bodies, code section has ${rewriter.stats.functions}`,
      );
    }
    const hints = rewriter.branchHintPayload();
    if (hints !== undefined) {
      const named = new Writer(hints.length + 32);
      named.name(BRANCH_HINT_SECTION);
      named.append(hints);
      // Just before the code section, where engines look for it.
      customs.push({ after: SECTION_DATA_COUNT, name: BRANCH_HINT_SECTION, payload: named.view() });
    }
    payloads.set(SECTION_TYPE, this.typePayload());
    payloads.set(SECTION_IMPORT, this.importPayload(space, fuelCounter));
    const bytes = this.assemble(payloads, customs);
    return {
      bytes,
      memories: this.memoryImports(),
      tables: this.tableImports(),
      stats: rewriter.stats,
      droppedCustomSections: dropped,
      fuelCounter,
      fuelPassing: space.internalBase === undefined ? 'global' : 'arguments',
    };
  }

  private readerFor(section: Section): Reader {
    const reader = new Reader(this.bytes, section.start, section.end);
    reader.section = SECTION_NAMES[section.id] ?? 'unknown';
    return reader;
  }

  private finish(reader: Reader): void {
    if (!reader.atEnd) reader.fail('section size mismatch (trailing bytes)');
  }

  /** Types, imports, functions, tables, memories, global count: everything the index space needs. */
  private parseDeclarations(): void {
    for (const section of this.sections) {
      const reader = this.readerFor(section);
      switch (section.id) {
        case SECTION_TYPE:
          this.parseTypes(reader);
          break;
        case SECTION_IMPORT:
          this.parseImports(reader);
          break;
        case SECTION_FUNCTION: {
          const count = reader.count(1);
          for (let index = 0; index < count; index++)
            this.functionTypes.push(this.typeIndex(reader));
          break;
        }
        case SECTION_TABLE:
          this.parseTables(reader);
          break;
        case SECTION_MEMORY: {
          const count = reader.count(2);
          for (let index = 0; index < count; index++)
            this.definedMemories.push(readLimits(reader, 'memory'));
          break;
        }
        case SECTION_GLOBAL:
          this.definedGlobals = reader.count(3);
          reader.pos = reader.end;
          break;
        default:
          reader.pos = reader.end;
      }
      this.finish(reader);
    }
  }

  private typeIndex(reader: Reader): number {
    const at = reader.pos;
    const index = reader.u32();
    if (index >= this.types.length)
      reader.fail(`type index ${index} out of range`, 'malformed', at);
    return index;
  }

  private parseTypes(reader: Reader): void {
    const count = reader.count(3);
    for (let index = 0; index < count; index++) {
      const at = reader.pos;
      const form = reader.byte();
      if (form === 0x4e || form === 0x4f || form === 0x50)
        reader.fail('GC type definitions', 'unsupported', at);
      if (form !== 0x60) reader.fail(`unknown type form 0x${form.toString(16)}`, 'malformed', at);
      const params = this.valueTypes(reader);
      const results = this.valueTypes(reader);
      this.types.push({ params, results });
    }
  }

  private valueTypes(reader: Reader): number[] {
    const count = reader.count(1);
    const types: number[] = [];
    for (let index = 0; index < count; index++) types.push(readValueType(reader));
    return types;
  }

  private parseImports(reader: Reader): void {
    this.importCount = reader.count(4);
    for (let index = 0; index < this.importCount; index++) {
      const at = reader.pos;
      const module = reader.name();
      reader.name();
      if (module === LIMITS_IMPORT_MODULE) {
        reader.fail(
          `imports from "${LIMITS_IMPORT_MODULE}": already instrumented`,
          'already_instrumented',
          at,
        );
      }
      const kindAt = reader.pos;
      const kind = reader.byte();
      if (kind === IMPORT_FUNCTION) {
        this.typeIndex(reader);
        this.importedFuncs++;
      } else if (kind === IMPORT_TABLE) {
        readReferenceType(reader);
        readLimits(reader, 'table');
        this.importedTables++;
      } else if (kind === IMPORT_MEMORY) {
        readLimits(reader, 'memory');
        this.importedMemories++;
      } else if (kind === IMPORT_GLOBAL) {
        readValueType(reader);
        if (reader.byte() > 1)
          reader.fail('global mutability is not 0 or 1', 'malformed', reader.pos - 1);
        this.importedGlobals++;
      } else if (kind === IMPORT_TAG) {
        if (reader.byte() !== 0) reader.fail('tag attribute is not 0', 'malformed', reader.pos - 1);
        this.typeIndex(reader);
      } else {
        reader.fail(`unknown import kind ${kind}`, 'malformed', kindAt);
      }
    }
  }

  private parseTables(reader: Reader): void {
    const count = reader.count(3);
    for (let index = 0; index < count; index++) {
      if (reader.bytes[reader.pos] === 0x40 && reader.pos < reader.end) {
        reader.fail('table with an initializer expression', 'unsupported');
      }
      const reference = readReferenceType(reader);
      this.definedTables.push({ reference, limits: readLimits(reader, 'table') });
    }
  }

  private outOfFuelType(): number {
    return this.findOrAddType([], []);
  }

  private memoryGrowResultType(): number {
    return this.findOrAddType([TYPE_I32], [TYPE_I32]);
  }

  private findOrAddType(params: readonly number[], results: readonly number[]): number {
    const all = [...this.types, ...this.addedTypes];
    const found = all.findIndex(
      (type) => sameTypes(type.params, params) && sameTypes(type.results, results),
    );
    if (found >= 0) return found;
    this.addedTypes.push({ params, results });
    return all.length;
  }

  private indexSpace(): IndexSpace {
    const funcCount = this.importedFuncs + this.functionTypes.length;
    const globalCount = this.importedGlobals + this.definedGlobals;
    this.outOfFuelType();
    this.memoryGrowResultType();
    const passArguments =
      this.fuelPassing === 'arguments' && this.functionTypes.length > 0 && this.roomForCounter();
    return {
      typeCount: this.types.length,
      funcCount,
      importedFuncCount: this.importedFuncs,
      globalCount,
      importedGlobalCount: this.importedGlobals,
      fuelGlobalIndex: this.importedGlobals,
      outOfFuelIndex: this.importedFuncs,
      memoryGrowResultIndex: this.importedFuncs + 1,
      internalBase: passArguments
        ? this.importedFuncs + ADDED_FUNCTION_IMPORTS + this.functionTypes.length
        : undefined,
      referenced: passArguments ? new Uint8Array(this.functionTypes.length) : undefined,
    };
  }

  /**
   * Thunks and internal versions fit the engine's limits: twice the defined
   * functions, and every one with a parameter and a result more.
   */
  private roomForCounter(): boolean {
    const functions = this.importedFuncs + ADDED_FUNCTION_IMPORTS + 2 * this.functionTypes.length;
    if (functions > FUNCTIONS_MAX) return false;
    return this.functionTypes.every((typeIndex) => {
      const type = this.types[typeIndex]!;
      return type.params.length < FUNCTION_PARAMS_MAX && type.results.length < FUNCTION_RESULTS_MAX;
    });
  }

  /** The type of a function's internal version: the counter added as last parameter and result. */
  private internalType(typeIndex: number): number {
    let internal = this.internalTypes.get(typeIndex);
    if (internal === undefined) {
      const type = this.types[typeIndex]!;
      internal = this.findOrAddType([...type.params, TYPE_I64], [...type.results, TYPE_I64]);
      this.internalTypes.set(typeIndex, internal);
    }
    return internal;
  }

  /** Declares the functions at the original indices and types, then the internal versions. */
  private rewriteFunctions(reader: Reader, out: Writer): void {
    const count = this.functionTypes.length;
    out.u32(count * 2);
    for (const typeIndex of this.functionTypes) out.u32(typeIndex);
    for (const typeIndex of this.functionTypes) out.u32(this.internalType(typeIndex));
    reader.pos = reader.end;
  }

  /** A thunk: the counter from the global to the internal version and back; the results pass through. */
  private writeThunk(out: Writer, space: IndexSpace, index: number): void {
    const sizeAt = out.reservePaddedU32();
    out.u32(0); // no locals
    const params = this.types[this.functionTypes[index]!]!.params.length;
    for (let param = 0; param < params; param++) {
      out.byte(OP_LOCAL_GET);
      out.u32(param);
    }
    out.byte(OP_GLOBAL_GET);
    out.u32(space.fuelGlobalIndex);
    out.byte(OP_CALL);
    out.u32(space.internalBase! + index);
    out.byte(OP_GLOBAL_SET);
    out.u32(space.fuelGlobalIndex);
    out.byte(OP_END);
    out.patchPaddedU32(sizeAt, out.length - sizeAt - PADDED_U32_BYTES);
  }

  private rewriteSection(
    section: Section,
    space: IndexSpace,
    rewriter: BodyRewriter,
    added: AddedEntries,
  ): Uint8Array | undefined {
    const reader = this.readerFor(section);
    // Instrumentation grows code by about a third: reserve for it once.
    const out = new Writer(Math.ceil((section.end - section.start) * 1.5) + 64);
    switch (section.id) {
      case SECTION_TYPE:
      case SECTION_IMPORT:
      case SECTION_TABLE:
      case SECTION_MEMORY:
        return undefined; // rebuilt from the parsed declarations
      case SECTION_GLOBAL:
        rewriteGlobals(reader, out, space, added);
        break;
      case SECTION_EXPORT:
        rewriteExports(reader, out, space, added);
        break;
      case SECTION_START:
        rewriteStart(reader, out, space);
        break;
      case SECTION_ELEMENT:
        rewriteElements(reader, out, space);
        break;
      case SECTION_DATA:
        rewriteData(reader, out, space);
        break;
      case SECTION_CODE:
        this.rewriteCode(reader, out, space, rewriter);
        break;
      case SECTION_FUNCTION:
        if (space.internalBase === undefined) {
          out.copy(this.bytes, section.start, section.end);
          reader.pos = reader.end;
        } else {
          this.rewriteFunctions(reader, out);
        }
        break;
      default:
        out.copy(this.bytes, section.start, section.end);
        reader.pos = reader.end;
    }
    this.finish(reader);
    return out.view();
  }

  private rewriteCode(
    reader: Reader,
    out: Writer,
    space: IndexSpace,
    rewriter: BodyRewriter,
  ): void {
    const count = reader.count(2);
    if (count !== this.functionTypes.length) {
      reader.fail(
        `code section has ${count} bodies, function section declares ${this.functionTypes.length}`,
      );
    }
    // With fuel passed in arguments, the functions at the original indices (copies
    // or thunks) and the internal versions are written apart, then in that order.
    const sizeHint = Math.ceil((reader.end - reader.pos) * 1.5) + 64;
    const internals = space.internalBase === undefined ? out : new Writer(sizeHint);
    const entries = space.internalBase === undefined ? undefined : new Writer(sizeHint);
    out.u32(space.internalBase === undefined ? count : count * 2);
    const shapes = new Map<number, { paramCount: number; resultBlockType: number[] }>();
    for (let index = 0; index < count; index++) {
      const typeIndex = this.functionTypes[index]!;
      let shape = shapes.get(typeIndex);
      if (shape === undefined) {
        shape = this.shapeOf(typeIndex);
        shapes.set(typeIndex, shape);
      }
      const size = reader.u32();
      const bodyStart = reader.pos;
      reader.skip(size);
      reader.pos = bodyStart;
      const referenced = space.referenced?.[index] === 1;
      const full = rewriter.rewrite(
        reader,
        bodyStart + size,
        shape,
        internals,
        referenced ? entries : undefined,
      );
      if (entries !== undefined && !full) this.writeThunk(entries, space, index);
      assert(reader.pos === bodyStart + size, 'body rewriter consumed exactly the body');
    }
    if (entries !== undefined) {
      out.append(entries.view());
      out.append(internals.view());
    }
  }

  private shapeOf(typeIndex: number): { paramCount: number; resultBlockType: number[] } {
    const type = this.types[typeIndex]!;
    const results = type.results;
    if (results.length === 0) return { paramCount: type.params.length, resultBlockType: [0x40] };
    if (results.length === 1)
      return { paramCount: type.params.length, resultBlockType: [results[0]!] };
    const blockType = new Writer(8);
    blockType.s64(this.findOrAddType([], results));
    return { paramCount: type.params.length, resultBlockType: [...blockType.view()] };
  }

  private rewriteCustom(section: Section, space: IndexSpace): Uint8Array | undefined {
    const reader = this.readerFor(section);
    reader.name();
    const out = new Writer(section.end - section.start + 16);
    out.copy(this.bytes, section.start, reader.pos);
    if (section.name !== 'name') {
      out.copy(this.bytes, reader.pos, section.end);
      return out.view();
    }
    try {
      rewriteNames(reader, out, space, new Writer(256));
      return out.view();
    } catch (error) {
      // Debug names are optional: a malformed name section is dropped, not fatal.
      if (error instanceof ParseFailure) return undefined;
      throw error;
    }
  }

  private typePayload(): Uint8Array {
    const out = new Writer(64);
    const all = [...this.types, ...this.addedTypes];
    out.u32(all.length);
    for (const type of all) {
      out.byte(0x60);
      out.u32(type.params.length);
      for (const param of type.params) out.byte(param);
      out.u32(type.results.length);
      for (const result of type.results) out.byte(result);
    }
    return out.view();
  }

  private importPayload(space: IndexSpace, fuelCounter: FuelCounter): Uint8Array {
    const out = new Writer(256);
    const fuelImports = fuelCounter === 'imported' ? 1 : 0;
    const added =
      this.definedMemories.length +
      this.definedTables.length +
      fuelImports +
      ADDED_FUNCTION_IMPORTS;
    out.u32(this.importCount + added);
    const original = this.sections.find((section) => section.id === SECTION_IMPORT);
    if (original !== undefined) {
      const reader = this.readerFor(original);
      reader.u32();
      out.copy(this.bytes, reader.pos, original.end);
    }
    this.definedMemories.forEach((limits, offset) => {
      out.name(LIMITS_IMPORT_MODULE);
      out.name(memoryImportName(this.importedMemories + offset));
      out.byte(IMPORT_MEMORY);
      writeLimits(out, limits);
    });
    this.definedTables.forEach((table, offset) => {
      out.name(LIMITS_IMPORT_MODULE);
      out.name(tableImportName(this.importedTables + offset));
      out.byte(IMPORT_TABLE);
      out.byte(table.reference);
      writeLimits(out, table.limits);
    });
    if (fuelCounter === 'imported') {
      out.name(LIMITS_IMPORT_MODULE);
      out.name(FUEL_GLOBAL_IMPORT);
      out.byte(IMPORT_GLOBAL);
      out.byte(0x7e);
      out.byte(1);
    }
    out.name(LIMITS_IMPORT_MODULE);
    out.name(OUT_OF_FUEL_IMPORT);
    out.byte(IMPORT_FUNCTION);
    out.u32(this.outOfFuelType());
    out.name(LIMITS_IMPORT_MODULE);
    out.name(MEMORY_GROW_RESULT_IMPORT);
    out.byte(IMPORT_FUNCTION);
    out.u32(this.memoryGrowResultType());
    assert(
      space.fuelGlobalIndex === this.importedGlobals,
      'fuel global follows the imported globals',
    );
    return out.view();
  }

  private assemble(
    payloads: ReadonlyMap<number, Uint8Array>,
    customs: readonly { after: number; name: string; payload: Uint8Array }[],
  ): Uint8Array {
    const ordered: { id: number; payload: Uint8Array }[] = [];
    const customsAfter = (id: number): void => {
      for (const custom of customs) {
        if (custom.after === id) ordered.push({ id: SECTION_CUSTOM, payload: custom.payload });
      }
    };
    customsAfter(-1);
    for (const id of SECTION_ORDER) {
      const payload = payloads.get(id);
      if (payload !== undefined) ordered.push({ id, payload });
      customsAfter(id);
    }
    // Sized exactly up front: the output is written once, with no growth and no final copy.
    const lebBytes = (value: number): number =>
      value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
    const totalBytes = ordered.reduce(
      (sum, section) => sum + 1 + lebBytes(section.payload.length) + section.payload.length,
      HEADER_BYTES,
    );
    const out = new Writer(totalBytes);
    for (const byte of HEADER_CORE) out.byte(byte);
    for (const section of ordered) {
      out.byte(section.id);
      out.u32(section.payload.length);
      out.append(section.payload);
    }
    assert(out.length === totalBytes, 'output size computed exactly');
    return out.view();
  }

  private memoryImports(): MemoryImport[] {
    return this.definedMemories.map((limits, offset) => ({
      index: this.importedMemories + offset,
      importName: memoryImportName(this.importedMemories + offset),
      initialPages: limits.minimum,
      maximumPages: limits.maximum,
      shared: (limits.flags & 2) !== 0,
    }));
  }

  private tableImports(): TableImport[] {
    return this.definedTables.map((table, offset) => ({
      index: this.importedTables + offset,
      importName: tableImportName(this.importedTables + offset),
      element: table.reference === 0x70 ? 'anyfunc' : 'externref',
      initialElements: table.limits.minimum,
      maximumElements: table.limits.maximum,
    }));
  }
}
