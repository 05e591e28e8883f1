/**
 * Rewrites one function body: remaps function indices (shifted by the added
 * function imports), global indices (shifted by the fuel global) and the
 * labels that leave a wrapped loop, and inserts fuel charges and checks, a
 * wrapper around each loop for its refill path, and the memory.grow hook. The accounting is in
 * docs/FUEL.md; in short, the body is cut into regions of straight-line code
 * (a region starts at function entry, after loop, if, else, end, br_if,
 * catch, catch_all and delegate; the code after the `end` of a block, if or
 * loop that is only ever left through that `end` stays in the region the
 * block opened in), each region's static cost is charged when it starts,
 * and the remaining fuel is checked at function entry (when the function
 * makes a call outside every loop) and at every loop header. With fuel
 * passed in arguments the counter is the extra last parameter of the
 * function's internal version and goes to its callees as theirs.
 *
 * One pass over the body records edits (index remaps, insertion points);
 * a second copies the body into the output applying them, once the region
 * costs the insertions depend on are known.
 */
import { assert } from '../../lib/assert.js';
import { ADDED_FUNCTION_IMPORTS } from './abi.js';
import { PADDED_U32_BYTES, Reader, Writer } from './bytes.js';
import { isValueTypeByte, readBlockType, readValueType } from './types.js';

/**
 * Where a function keeps the fuel counter:
 * - local: load the global into a local at entry, charge the local, write it
 *   back around calls and at exits (cheap in loops);
 * - global: charge the imported global directly (no traffic around calls).
 * 'auto' picks local for functions with loops or several regions, global
 * for loop-free functions that call others.
 */
export type FuelStrategy = 'auto' | 'local' | 'global';

/** V8 refuses functions with more locals than this; the fuel local counts. */
export const FUNCTION_LOCALS_MAX = 50_000;

/** What the body rewriter needs to know of the module, in original indices. */
export interface IndexSpace {
  readonly typeCount: number;
  readonly funcCount: number;
  readonly importedFuncCount: number;
  readonly globalCount: number;
  readonly importedGlobalCount: number;
  /** The added imports, in the output's index space. */
  readonly fuelGlobalIndex: number;
  readonly outOfFuelIndex: number;
  readonly memoryGrowResultIndex: number;
  /**
   * Set when fuel is passed in arguments (`fuelPassing: 'arguments'`): the
   * output index of the first defined function's internal version, which
   * takes the counter as an extra last parameter and returns it as an extra
   * last result. The original indices keep the original signatures
   * (exports, tables, ref.func and the start function reach those): a copy
   * of the body reading the counter from the global, or a thunk.
   */
  readonly internalBase: number | undefined;
  /**
   * With internalBase: per defined function, 1 when an export, the start
   * function, an element segment or a global's initializer names it (filled
   * while those sections are rewritten, before the code): such a function
   * gets a full body at its original index rather than a thunk.
   */
  readonly referenced: Uint8Array | undefined;
}

/**
 * Thrown when a body needs what passing fuel in arguments cannot express (a
 * tail call through a table or to an import: the callee's results lack the
 * counter); the module is then instrumented with the counter in the global.
 */
export class NeedsGlobalPassing extends Error {
  override readonly name = 'NeedsGlobalPassing';
}

export function remapFunction(space: IndexSpace, index: number): number {
  return index < space.importedFuncCount ? index : index + ADDED_FUNCTION_IMPORTS;
}

/** The internal version of a defined function (fuel passed in arguments). */
function internalFunction(space: IndexSpace, index: number): number | undefined {
  if (space.internalBase === undefined || index < space.importedFuncCount) return undefined;
  return space.internalBase + index - space.importedFuncCount;
}

export function remapGlobal(space: IndexSpace, index: number): number {
  return index < space.importedGlobalCount ? index : index + 1;
}

export interface BodyStats {
  functions: number;
  loops: number;
  regions: number;
  localModeFunctions: number;
  globalModeFunctions: number;
}

const enum Frame {
  Function,
  Block,
  Loop,
  If,
  Else,
  Try,
  Catch,
}

const enum Insert {
  Charge,
  /** A wrapped loop's header charge and check: below zero, branch to the wrapper's refill path. */
  Check,
  /** The same for a loop with parameters (not wrapped: re-entering needs them): reload after the call. */
  CheckReload,
  Save,
  Load,
  /** Rewrite the index immediate of the instruction at `at` (ending at `end`) to `value`. */
  Remap,
  /** Pass the result of the memory.grow just before through memory_grow_result. */
  GrowResult,
  /** Rewrite the label immediate at `at` (ending at `end`) to `value`. */
  RemapLabel,
  /** Push the counter (an internal call's last argument, or a result before `return`). */
  PushFuel,
  /** Pop an internal call's last result into the counter. */
  TakeFuel,
  /** Before `return` with fuel passed in arguments: push the counter, or write it back (fromGlobal). */
  ReturnFuel,
  /** Before a wrapped loop (`at`, its block type ending at `end`): open the wrapper. */
  LoopOpen,
  /** After a wrapped loop's `end`: the refill path and the wrapper's end (`value`: header region). */
  LoopClose,
}

/** Labels a wrapped loop adds around itself: block $exit, loop $again, block $refill. */
const LOOP_WRAP_LABELS = 3;

/** Edits to the input body in increasing position order, in growable typed arrays. */
class EditList {
  at: Int32Array = new Int32Array(1024);
  end: Int32Array = new Int32Array(1024);
  value: Int32Array = new Int32Array(1024);
  kind: Uint8Array = new Uint8Array(1024);
  count = 0;

  reset(): void {
    this.count = 0;
  }

  add(at: number, kind: Insert, value: number, end: number): void {
    if (this.count === this.at.length) this.grow();
    const index = this.count++;
    this.at[index] = at;
    this.kind[index] = kind;
    this.value[index] = value;
    this.end[index] = end;
  }

  private grow(): void {
    const capacity = this.at.length * 2;
    const grow32 = (old: Int32Array): Int32Array => {
      const grown = new Int32Array(capacity);
      grown.set(old);
      return grown;
    };
    this.at = grow32(this.at);
    this.end = grow32(this.end);
    this.value = grow32(this.value);
    const kind = new Uint8Array(capacity);
    kind.set(this.kind);
    this.kind = kind;
  }
}

const enum Mode {
  Local,
  Global,
}

const enum AfterRefill {
  Continue,
  Reload,
  CallAgain,
}

const OP_IF = 0x04;
const OP_END = 0x0b;
const OP_BLOCK = 0x02;
const OP_CALL = 0x10;
const OP_LOCAL_GET = 0x20;
const OP_LOCAL_SET = 0x21;
const OP_LOCAL_TEE = 0x22;
const OP_GLOBAL_GET = 0x23;
const OP_GLOBAL_SET = 0x24;
const OP_I64_CONST = 0x42;
const OP_I64_LT_S = 0x53;
const OP_I64_SUB = 0x7d;
const OP_I64_ADD = 0x7c;
const OP_BR = 0x0c;
const OP_BR_IF = 0x0d;
const OP_LOOP = 0x03;
const OP_RETURN = 0x0f;
const BLOCK_EMPTY = 0x40;
const TYPE_I64 = 0x7e;

export interface FunctionShape {
  readonly paramCount: number;
  /** The encoded block type `[] -> results` of the function. */
  readonly resultBlockType: readonly number[];
}

export class BodyRewriter {
  readonly stats: BodyStats = {
    functions: 0,
    loops: 0,
    regions: 0,
    localModeFunctions: 0,
    globalModeFunctions: 0,
  };
  private readonly edits = new EditList();
  /**
   * The payload of a `metadata.code.branch_hint` section (after its function
   * count): every exhaustion check is hinted "unlikely", so the engine lays
   * the refill path out of line and keeps the counter in a register.
   */
  private readonly hints = new Writer(1024);
  private hintedFunctions = 0;
  private readonly hintOffsets: number[] = [];
  /** Where the current body starts in the output (the locals), for hint offsets. */
  private bodyStart = 0;
  private readonly costs: number[] = [];
  private readonly frames: Frame[] = [];
  private reader!: Reader;
  private body!: Writer;
  /** Where the instructions start (after the locals) and end (before the final `end`). */
  private codeStart = 0;
  private codeEnd = 0;
  /** The region being accumulated; -1 in unreachable code. */
  private region = 0;
  private localCount = 0;
  private hasCalls = false;
  /**
   * Some call is outside every loop: recursion could then run without
   * passing a loop header, so the function entry needs a check. When every
   * call is inside a loop, the loop's header check runs before each call
   * (fib as clang compiles it), and the entry check is left out.
   */
  private callOutsideLoops = false;
  private hasLoops = false;
  /** For each open frame, how many wrapped loops are open up to it (label remapping). */
  private readonly wrapCounts: number[] = [];
  /** For each open frame, the region its opening instruction is in (-1: unreachable). */
  private readonly openRegions: number[] = [];
  /**
   * For each open frame, the outermost frame (its index in `frames`) that a
   * branch inside it targets; -1 after return, unreachable, throw, rethrow or a
   * tail call. A frame whose value is not below its own index is always left
   * through its `end` once entered (see `endRegion`).
   */
  private readonly branchFloors: number[] = [];
  /** For each open loop, the region its header charges (the refill gives it back). */
  private readonly loopHeaderRegions: number[] = [];
  /** This function's index in the output (the prologue's refill calls it again). */
  private selfIndex = 0;
  private paramCount = 0;
  /** The counter's local: a new local, or the extra last parameter when fuel is passed in arguments. */
  private fuelLocal = 0;
  private readonly passArguments: boolean;
  /**
   * Assembling the version for the original index of a function that tables
   * or exports reach (fuel passed in arguments): it reads the counter from
   * the global at entry into a local where the internal version has its
   * parameter (same index, so every edit applies unchanged), and writes it
   * back at returns, so a `call_indirect` or a host call costs no extra frame.
   */
  private fromGlobal = false;
  private hasReturnCall = false;

  constructor(
    private readonly space: IndexSpace,
    private readonly strategy: FuelStrategy,
  ) {
    this.passArguments = space.internalBase !== undefined;
  }

  /**
   * Rewrites the body in reader.pos..bodyEnd and appends it (size-prefixed) to
   * `out`. With fuel passed in arguments and `entryOut` given, also appends to
   * `entryOut` a version of the same body for the original index that reads
   * the counter from the global (see `fromGlobal`) and says whether it did
   * (a function with a direct tail call gets a thunk instead).
   */
  rewrite(
    reader: Reader,
    bodyEnd: number,
    shape: FunctionShape,
    out: Writer,
    entryOut?: Writer,
  ): boolean {
    assert(bodyEnd <= reader.end, 'body within the section');
    const sectionEnd = reader.end;
    reader.end = bodyEnd;
    this.reader = reader;
    const entryCount = reader.count(2);
    const entriesStart = reader.pos;
    this.localCount = shape.paramCount;
    this.paramCount = shape.paramCount;
    this.selfIndex =
      this.space.internalBase ?? this.space.importedFuncCount + ADDED_FUNCTION_IMPORTS;
    this.selfIndex += this.stats.functions;
    for (let entry = 0; entry < entryCount; entry++) {
      this.localCount += reader.u32();
      readValueType(reader);
      if (this.localCount >= FUNCTION_LOCALS_MAX) {
        reader.fail(`more than ${FUNCTION_LOCALS_MAX - 1} locals`, 'unsupported');
      }
    }
    const entriesEnd = reader.pos;
    this.fuelLocal = this.passArguments ? shape.paramCount : this.localCount;
    this.codeStart = entriesEnd;
    this.resetState();
    this.walk();
    const mode = this.chooseMode();
    this.body = out;
    const sizeAt = out.reservePaddedU32();
    this.bodyStart = sizeAt + PADDED_U32_BYTES;
    this.hintOffsets.length = 0;
    this.assemble(mode, shape, entryCount, entriesStart, entriesEnd);
    out.patchPaddedU32(sizeAt, out.length - sizeAt - PADDED_U32_BYTES);
    this.recordHints();
    const entryVersion = entryOut !== undefined && this.passArguments && !this.hasReturnCall;
    if (entryVersion) {
      this.body = entryOut;
      const entrySizeAt = entryOut.reservePaddedU32();
      this.bodyStart = entrySizeAt + PADDED_U32_BYTES;
      this.fromGlobal = true;
      this.assemble(mode, shape, entryCount, entriesStart, entriesEnd);
      this.fromGlobal = false;
      entryOut.patchPaddedU32(entrySizeAt, entryOut.length - entrySizeAt - PADDED_U32_BYTES);
      this.hintOffsets.length = 0; // hints only for the internal versions
    }
    reader.end = sectionEnd;
    this.countStats(mode);
    return entryVersion;
  }

  /** The branch-hint section's payload, or undefined when no function has a check. */
  branchHintPayload(): Uint8Array | undefined {
    if (this.hintedFunctions === 0) return undefined;
    const out = new Writer(this.hints.length + 8);
    out.u32(this.hintedFunctions);
    out.append(this.hints.view());
    return out.view();
  }

  private recordHints(): void {
    if (this.hintOffsets.length === 0) return;
    this.hints.u32(this.selfIndex);
    this.hints.u32(this.hintOffsets.length);
    for (const offset of this.hintOffsets) {
      this.hints.u32(offset);
      this.hints.u32(1); // the size of the hint
      this.hints.byte(0); // unlikely
    }
    this.hintedFunctions++;
  }

  private resetState(): void {
    this.edits.reset();
    this.costs.length = 0;
    this.costs.push(0);
    this.frames.length = 0;
    this.frames.push(Frame.Function);
    this.region = 0;
    this.hasCalls = false;
    this.callOutsideLoops = false;
    this.hasLoops = false;
    this.hasReturnCall = false;
    this.wrapCounts.length = 0;
    this.wrapCounts.push(0);
    this.openRegions.length = 0;
    this.openRegions.push(0);
    this.branchFloors.length = 0;
    this.branchFloors.push(0);
    this.loopHeaderRegions.length = 0;
  }

  private pushFrame(frame: Frame, wrapped = false): void {
    this.frames.push(frame);
    this.wrapCounts.push(this.wrapCounts[this.wrapCounts.length - 1]! + (wrapped ? 1 : 0));
    this.openRegions.push(this.region);
    this.branchFloors.push(this.frames.length - 1);
  }

  /** Pops the innermost frame; says whether it was a wrapped loop. */
  private dropFrame(): boolean {
    this.frames.pop();
    this.openRegions.pop();
    const floor = this.branchFloors.pop()!;
    const top = this.branchFloors.length - 1;
    if (floor < this.branchFloors[top]!) this.branchFloors[top] = floor;
    const count = this.wrapCounts.pop()!;
    return count > this.wrapCounts[this.wrapCounts.length - 1]!;
  }

  /** Control leaves every open frame other than through its `end` (return, trap, throw, tail call). */
  private escapeAll(): void {
    this.branchFloors[this.branchFloors.length - 1] = -1;
  }

  /**
   * The region after the `end` of a block, if, loop or else that was opened in
   * region `opened` and that no branch, return, trap or throw leaves other than
   * through its `end`: whenever `opened` ran, the code after the `end` runs too
   * (unless a call in between never returns or the code between traps), so its
   * cost is charged ahead with `opened`'s, and the `end` starts no region.
   * Fewer charges on the counter in hot loops (sieve's outer loop: one, from
   * two); the cost moves earlier, never to another path.
   */
  private endRegion(frame: Frame, opened: number, floor: number, index: number): void {
    const mergeable = frame !== Frame.Try && frame !== Frame.Catch;
    if (mergeable && opened >= 0 && floor >= index) this.region = opened;
    else this.startRegion(Insert.Charge);
  }

  private countStats(mode: Mode): void {
    this.stats.functions++;
    this.stats.regions += this.costs.length;
    if (mode === Mode.Local) this.stats.localModeFunctions++;
    else this.stats.globalModeFunctions++;
  }

  private chooseMode(): Mode {
    if (this.passArguments || this.strategy === 'local') return Mode.Local;
    if (this.strategy === 'global') return Mode.Global;
    if (this.hasLoops) return Mode.Local;
    if (this.hasCalls) return Mode.Global;
    return this.costs.length <= 1 ? Mode.Global : Mode.Local;
  }

  /** Starts a region right after the current instruction. */
  private startRegion(kind: Insert.Charge | Insert.Check | Insert.CheckReload): void {
    this.region = this.costs.length;
    this.costs.push(0);
    this.edits.add(this.reader.pos, kind, this.region, 0);
  }

  /** Writes the fuel back to the global before the instruction at `opStart`. */
  private saveBefore(opStart: number): void {
    this.edits.add(opStart, Insert.Save, 0, 0);
  }

  private charge(cost: number): void {
    if (this.region >= 0) this.costs[this.region]! += cost;
  }

  /** Reads a label; one that leaves wrapped loops is remapped past their three added labels. */
  private label(): void {
    const at = this.reader.pos;
    const depth = this.reader.u32();
    if (depth >= this.frames.length)
      this.reader.fail(`branch depth ${depth} out of range`, 'malformed', at);
    const top = this.wrapCounts.length - 1;
    if (top - depth < this.branchFloors[top]!) this.branchFloors[top] = top - depth;
    const crossed = this.wrapCounts[top]! - this.wrapCounts[top - depth]!;
    if (crossed > 0)
      this.edits.add(at, Insert.RemapLabel, depth + LOOP_WRAP_LABELS * crossed, this.reader.pos);
  }

  private functionIndex(opStart: number): void {
    const at = this.reader.pos;
    const index = this.reader.u32();
    if (index >= this.space.funcCount)
      this.reader.fail(`function index ${index} out of range`, 'malformed', at);
    this.edits.add(opStart, Insert.Remap, remapFunction(this.space, index), this.reader.pos);
  }

  /**
   * A call to a defined function when fuel is passed in arguments: the counter
   * goes as the last argument to the internal version; says whether it did.
   */
  private internalCall(opStart: number): boolean {
    if (!this.passArguments) return false;
    const at = this.reader.pos;
    const index = this.reader.u32();
    if (index >= this.space.funcCount)
      this.reader.fail(`function index ${index} out of range`, 'malformed', at);
    const internal = internalFunction(this.space, index);
    if (internal === undefined) {
      this.reader.pos = at;
      return false;
    }
    this.edits.add(opStart, Insert.PushFuel, 0, 0);
    this.edits.add(opStart, Insert.Remap, internal, this.reader.pos);
    return true;
  }

  private globalIndex(opStart: number): void {
    const at = this.reader.pos;
    const index = this.reader.u32();
    if (index >= this.space.globalCount)
      this.reader.fail(`global index ${index} out of range`, 'malformed', at);
    if (index < this.space.importedGlobalCount) return;
    this.edits.add(opStart, Insert.Remap, remapGlobal(this.space, index), this.reader.pos);
  }

  private typeIndex(): void {
    const at = this.reader.pos;
    const index = this.reader.u32();
    if (index >= this.space.typeCount)
      this.reader.fail(`type index ${index} out of range`, 'malformed', at);
  }

  private memarg(): void {
    const flags = this.reader.u32();
    if (flags & 0x40) this.reader.u32();
    this.reader.u32();
  }

  private popFrame(expected: readonly Frame[], what: string, opStart: number): Frame {
    const top = this.frames[this.frames.length - 1];
    if (top === undefined || !expected.includes(top))
      this.reader.fail(`${what} without its block`, 'malformed', opStart);
    this.dropFrame();
    return top;
  }

  /** The one pass over the instructions; returns after the function's final `end`. */
  private walk(): void {
    const reader = this.reader;
    for (;;) {
      const opStart = reader.pos;
      const op = reader.byte();
      if (op >= 0x45 && op <= 0xc4) {
        this.charge(1);
        continue;
      }
      if (op >= 0x28 && op <= 0x3e) {
        this.memarg();
        this.charge(1);
        continue;
      }
      switch (op) {
        case 0x20: // local.get
        case 0x21: // local.set
        case 0x22: {
          const at = reader.pos;
          const index = reader.u32();
          if (index >= this.localCount) reader.fail('local index out of range', 'malformed', at);
          // The counter parameter takes the first declared local's index; that local moves last.
          if (this.passArguments && index === this.paramCount)
            this.edits.add(opStart, Insert.Remap, this.localCount, reader.pos);
          this.charge(1);
          break;
        }
        case 0x23: // global.get
        case 0x24:
          this.globalIndex(opStart);
          this.charge(1);
          break;
        case 0x41:
          reader.skipSigned(5);
          this.charge(1);
          break;
        case 0x42:
          reader.skipSigned(10);
          this.charge(1);
          break;
        case 0x43:
          reader.skip(4);
          this.charge(1);
          break;
        case 0x44:
          reader.skip(8);
          this.charge(1);
          break;
        case 0x00: // unreachable: write back first, so an explicit trap reports exact fuel
          this.saveBefore(opStart);
          this.escapeAll();
          this.region = -1;
          break;
        case 0x01: // nop
        case 0x1a: // drop
          break;
        case 0x1b: // select
          this.charge(1);
          break;
        case 0x1c: {
          const count = reader.count(1);
          for (let index = 0; index < count; index++) readValueType(reader);
          this.charge(1);
          break;
        }
        case 0x02: // block
          readBlockType(reader, this.space.typeCount);
          this.pushFrame(Frame.Block);
          break;
        case 0x06: // try (legacy exceptions): entered unconditionally, like block
          readBlockType(reader, this.space.typeCount);
          this.pushFrame(Frame.Try);
          break;
        case 0x03: {
          // loop
          // A loop without parameters is wrapped (see emitExhaustedCheck): its refill path
          // is outside it, so it keeps no call and V8 may unroll it.
          const first = reader.bytes[reader.pos]!;
          const wrapped = first === BLOCK_EMPTY || isValueTypeByte(first);
          readBlockType(reader, this.space.typeCount);
          if (wrapped) this.edits.add(opStart, Insert.LoopOpen, 0, reader.pos);
          this.pushFrame(Frame.Loop, wrapped);
          this.hasLoops = true;
          this.stats.loops++;
          this.startRegion(wrapped ? Insert.Check : Insert.CheckReload);
          this.loopHeaderRegions.push(this.region);
          break;
        }
        case 0x04: // if
          readBlockType(reader, this.space.typeCount);
          this.charge(1);
          this.pushFrame(Frame.If);
          this.startRegion(Insert.Charge);
          break;
        case 0x05:
          {
            // else: the arms share the if's opening region and what their branches leave
            const top = this.frames.length - 1;
            const opened = this.openRegions[top]!;
            const floor = this.branchFloors[top]!;
            this.popFrame([Frame.If], 'else', opStart);
            this.pushFrame(Frame.Else);
            this.openRegions[top] = opened;
            this.branchFloors[top] = floor;
            this.startRegion(Insert.Charge);
            break;
          }
          break;
        case 0x07: // catch tag
        case 0x19: // catch_all
          if (op === 0x07) reader.u32();
          this.popFrame([Frame.Try, Frame.Catch], 'catch', opStart);
          this.pushFrame(Frame.Catch);
          this.edits.add(reader.pos, Insert.Load, 0, 0);
          this.startRegion(Insert.Charge);
          break;
        case 0x18: // delegate
          this.popFrame([Frame.Try], 'delegate', opStart);
          this.label();
          this.startRegion(Insert.Charge);
          break;
        case 0x08: // throw
        case 0x09: // rethrow
          this.saveBefore(opStart);
          if (op === 0x08) reader.u32();
          else this.label();
          this.escapeAll();
          this.charge(1);
          this.region = -1;
          break;
        case 0x0b: // end
          if (this.frames.length === 1) {
            if (reader.pos !== reader.end)
              reader.fail('code after the function end', 'malformed', reader.pos);
            this.codeEnd = opStart;
            return;
          }
          {
            const top = this.frames.length - 1;
            const frame = this.frames[top]!;
            const opened = this.openRegions[top]!;
            const floor = this.branchFloors[top]!;
            if (frame === Frame.Loop) {
              const headerRegion = this.loopHeaderRegions.pop()!;
              if (this.dropFrame()) this.edits.add(reader.pos, Insert.LoopClose, headerRegion, 0);
            } else {
              this.dropFrame();
            }
            this.endRegion(frame, opened, floor, top);
          }
          break;
        case 0x0c: // br
          this.label();
          this.charge(1);
          this.region = -1;
          break;
        case 0x0d: // br_if
          this.label();
          this.charge(1);
          this.startRegion(Insert.Charge);
          break;
        case 0x0e: {
          // br_table
          const count = reader.count(1);
          for (let index = 0; index <= count; index++) this.label();
          this.charge(1);
          this.region = -1;
          break;
        }
        case 0x0f: // return
          if (this.passArguments) this.edits.add(opStart, Insert.ReturnFuel, 0, 0);
          else this.saveBefore(opStart);
          this.escapeAll();
          this.region = -1;
          break;
        case 0x10: // call
          this.hasCalls = true;
          if (this.loopHeaderRegions.length === 0) this.callOutsideLoops = true;
          if (this.internalCall(opStart)) {
            this.edits.add(reader.pos, Insert.TakeFuel, 0, 0);
          } else {
            this.saveBefore(opStart);
            this.functionIndex(opStart);
            this.edits.add(reader.pos, Insert.Load, 0, 0);
          }
          this.charge(1);
          break;
        case 0x11: // call_indirect
          this.hasCalls = true;
          if (this.loopHeaderRegions.length === 0) this.callOutsideLoops = true;
          this.saveBefore(opStart);
          this.typeIndex();
          reader.u32();
          this.edits.add(reader.pos, Insert.Load, 0, 0);
          this.charge(1);
          break;
        case 0x12: // return_call
          this.hasCalls = true;
          if (this.loopHeaderRegions.length === 0) this.callOutsideLoops = true;
          this.hasReturnCall = true;
          if (!this.internalCall(opStart)) {
            if (this.passArguments) throw new NeedsGlobalPassing('return_call to an import');
            this.saveBefore(opStart);
            this.functionIndex(opStart);
          }
          this.escapeAll();
          this.charge(1);
          this.region = -1;
          break;
        case 0x13: // return_call_indirect
          if (this.passArguments) throw new NeedsGlobalPassing('return_call_indirect');
          this.hasCalls = true;
          if (this.loopHeaderRegions.length === 0) this.callOutsideLoops = true;
          this.saveBefore(opStart);
          this.typeIndex();
          reader.u32();
          this.escapeAll();
          this.charge(1);
          this.region = -1;
          break;
        case 0x25: // table.get
        case 0x26: // table.set
        case 0x3f: // memory.size
          reader.u32();
          this.charge(1);
          break;
        case 0x40: // memory.grow: the host sees a failed grow (memory_limit is then exact)
          reader.u32();
          this.edits.add(reader.pos, Insert.GrowResult, 0, 0);
          this.charge(1);
          break;
        case 0xd0: {
          const at = reader.pos;
          const heapType = reader.byte();
          if (heapType !== 0x70 && heapType !== 0x6f)
            reader.fail('ref.null of a typed reference', 'unsupported', at);
          this.charge(1);
          break;
        }
        case 0xd1: // ref.is_null
          this.charge(1);
          break;
        case 0xd2: // ref.func
          this.functionIndex(opStart);
          this.charge(1);
          break;
        case 0xfc:
          this.prefixedFc(opStart);
          this.charge(1);
          break;
        case 0xfd:
          this.prefixedSimd();
          this.charge(1);
          break;
        case 0xfe:
          this.prefixedAtomic(opStart);
          this.charge(1);
          break;
        default:
          this.unknownOpcode(op, opStart);
      }
    }
  }

  private unknownOpcode(op: number, opStart: number): never {
    const features: Record<number, string> = {
      0x0a: 'throw_ref (exception references)',
      0x14: 'call_ref (function references)',
      0x15: 'return_call_ref (function references)',
      0x1f: 'try_table (exception references)',
      0xd3: 'ref.eq / typed references',
      0xd4: 'ref.as_non_null (function references)',
      0xd5: 'br_on_null (function references)',
      0xd6: 'br_on_non_null (function references)',
      0xfb: 'GC instructions',
    };
    const feature = features[op];
    if (feature !== undefined)
      return this.reader.fail(`instruction ${feature}`, 'unsupported', opStart);
    return this.reader.fail(`unknown opcode 0x${op.toString(16)}`, 'malformed', opStart);
  }

  private prefixedFc(opStart: number): void {
    const reader = this.reader;
    const sub = reader.u32();
    if (sub <= 7) return; // saturating truncations
    switch (sub) {
      case 8: // memory.init data memory
      case 10: // memory.copy
      case 12: // table.init
      case 14: // table.copy
        reader.u32();
        reader.u32();
        return;
      case 9: // data.drop
      case 11: // memory.fill
      case 13: // elem.drop
      case 15: // table.grow
      case 16: // table.size
      case 17: // table.fill
        reader.u32();
        return;
      default:
        reader.fail(`unknown 0xfc instruction ${sub}`, 'unsupported', opStart);
    }
  }

  /** SIMD: only the immediates matter here (the engine validates the rest). */
  private prefixedSimd(): void {
    const reader = this.reader;
    const sub = reader.u32();
    if (sub <= 11 || sub === 92 || sub === 93) this.memarg();
    else if (sub === 12 || sub === 13) reader.skip(16);
    else if (sub >= 21 && sub <= 34) reader.skip(1);
    else if (sub >= 84 && sub <= 91) {
      this.memarg();
      reader.skip(1);
    }
  }

  private prefixedAtomic(opStart: number): void {
    const reader = this.reader;
    const sub = reader.u32();
    if (sub === 0x03) reader.skip(1);
    else if (sub <= 0x4e) this.memarg();
    else reader.fail(`unknown atomic instruction ${sub}`, 'unsupported', opStart);
  }

  private assemble(
    mode: Mode,
    shape: FunctionShape,
    entryCount: number,
    entriesStart: number,
    entriesEnd: number,
  ): void {
    const body = this.body;
    if (this.passArguments) {
      this.writeLocalsAfterFuelParameter(entryCount, entriesStart, entriesEnd);
    } else {
      body.u32(entryCount + 1);
      body.copy(this.reader.bytes, entriesStart, entriesEnd);
      body.byte(1);
      body.byte(TYPE_I64);
    }
    this.emitPrologue(mode);
    if (mode === Mode.Local) {
      body.byte(OP_BLOCK);
      for (const byte of shape.resultBlockType) body.byte(byte);
    }
    const code = this.reader.bytes;
    const edits = this.edits;
    let from = this.codeStart;
    for (let index = 0; index < edits.count; index++) {
      const at = edits.at[index]!;
      if (at > from) body.copy(code, from, at);
      from = at;
      const kind = edits.kind[index]! as Insert;
      if (kind === Insert.Remap) {
        body.byte(code[at]!);
        body.u32(edits.value[index]!);
        from = edits.end[index]!;
      } else if (kind === Insert.RemapLabel) {
        body.u32(edits.value[index]!);
        from = edits.end[index]!;
      } else if (kind === Insert.LoopOpen) {
        // block <the loop's type> (loop (block (loop <type> ...: the original loop follows.
        body.byte(OP_BLOCK);
        body.copy(code, at + 1, edits.end[index]!);
        body.byte(OP_LOOP);
        body.byte(BLOCK_EMPTY);
        body.byte(OP_BLOCK);
        body.byte(BLOCK_EMPTY);
      } else {
        this.emitInsert(mode, kind, edits.value[index]!);
      }
    }
    body.copy(code, from, this.codeEnd);
    if (mode === Mode.Local) {
      body.byte(OP_END);
      this.emitInsert(mode, this.passArguments ? Insert.ReturnFuel : Insert.Save, -1);
    }
    body.byte(OP_END);
  }

  /**
   * With the counter as the parameter after the original ones, the first
   * declared local is declared last instead (its uses are remapped), so every
   * other local keeps its index and needs no edit.
   */
  private writeLocalsAfterFuelParameter(
    entryCount: number,
    entriesStart: number,
    entriesEnd: number,
  ): void {
    const body = this.body;
    // The version read from the global declares the counter as its first local instead.
    const counterLocal = this.fromGlobal ? 1 : 0;
    if (this.localCount === this.paramCount) {
      body.u32(entryCount + counterLocal);
      if (this.fromGlobal) {
        body.byte(1);
        body.byte(TYPE_I64);
      }
      body.copy(this.reader.bytes, entriesStart, entriesEnd);
      return;
    }
    const entries = new Reader(this.reader.bytes, entriesStart, entriesEnd);
    // Empty groups (valid, if odd) before the first local are dropped.
    let firstCount = 0;
    let firstType = 0;
    let groupsLeft = entryCount;
    while (firstCount === 0) {
      firstCount = entries.u32();
      firstType = entries.byte();
      groupsLeft--;
    }
    body.u32(groupsLeft + (firstCount > 1 ? 2 : 1) + counterLocal);
    if (this.fromGlobal) {
      body.byte(1);
      body.byte(TYPE_I64);
    }
    if (firstCount > 1) {
      body.u32(firstCount - 1);
      body.byte(firstType);
    }
    body.copy(this.reader.bytes, entries.pos, entriesEnd);
    body.u32(1);
    body.byte(firstType);
  }

  private emitPrologue(mode: Mode): void {
    const body = this.body;
    const cost = this.costs[0]!;
    const fuel = this.space.fuelGlobalIndex;
    const entryCheck = this.hasCalls && this.callOutsideLoops;
    if (mode === Mode.Global && !entryCheck) {
      this.emitCharge(mode, cost);
      return;
    }
    if (this.passArguments) {
      this.emitArgumentPrologue(cost, entryCheck);
      return;
    }
    body.byte(OP_GLOBAL_GET);
    body.u32(fuel);
    if (cost > 0) this.emitSubtract(cost);
    if (!entryCheck) {
      body.byte(OP_LOCAL_SET);
      body.u32(this.fuelLocal);
      return;
    }
    body.byte(OP_LOCAL_TEE);
    body.u32(this.fuelLocal);
    if (mode === Mode.Global) {
      body.byte(OP_GLOBAL_SET);
      body.u32(fuel);
      body.byte(OP_LOCAL_GET);
      body.u32(this.fuelLocal);
      this.emitExhaustedCheck(AfterRefill.Continue);
      return;
    }
    this.emitExhaustedCheck(AfterRefill.CallAgain, cost);
  }

  /**
   * The counter arrives in the last parameter: charge it there and write it
   * to the global, so a trap reports the fuel to this entry (see docs/FUEL.md).
   */
  private emitArgumentPrologue(cost: number, entryCheck: boolean): void {
    const body = this.body;
    body.byte(this.fromGlobal ? OP_GLOBAL_GET : OP_LOCAL_GET);
    body.u32(this.fromGlobal ? this.space.fuelGlobalIndex : this.fuelLocal);
    if (cost > 0) this.emitSubtract(cost);
    body.byte(OP_LOCAL_TEE);
    body.u32(this.fuelLocal);
    body.byte(OP_GLOBAL_SET);
    body.u32(this.space.fuelGlobalIndex);
    if (!entryCheck) return;
    body.byte(OP_LOCAL_GET);
    body.u32(this.fuelLocal);
    this.emitExhaustedCheck(AfterRefill.CallAgain, cost);
  }

  private emitInsert(mode: Mode, kind: Insert, region: number): void {
    const body = this.body;
    const fuel = this.space.fuelGlobalIndex;
    switch (kind) {
      case Insert.Charge:
        this.emitCharge(mode, this.costs[region]!);
        return;
      case Insert.Check:
      case Insert.CheckReload:
        this.emitLoopCheck(mode, this.costs[region]!, kind === Insert.Check);
        return;
      case Insert.Save:
        if (mode === Mode.Global) return;
        body.byte(OP_LOCAL_GET);
        body.u32(this.fuelLocal);
        body.byte(OP_GLOBAL_SET);
        body.u32(fuel);
        return;
      case Insert.Load:
        if (mode === Mode.Global) return;
        body.byte(OP_GLOBAL_GET);
        body.u32(fuel);
        body.byte(OP_LOCAL_SET);
        body.u32(this.fuelLocal);
        return;
      case Insert.PushFuel:
        body.byte(OP_LOCAL_GET);
        body.u32(this.fuelLocal);
        return;
      case Insert.TakeFuel:
        body.byte(OP_LOCAL_SET);
        body.u32(this.fuelLocal);
        return;
      case Insert.ReturnFuel:
        body.byte(OP_LOCAL_GET);
        body.u32(this.fuelLocal);
        if (this.fromGlobal) {
          body.byte(OP_GLOBAL_SET);
          body.u32(fuel);
        }
        return;
      case Insert.GrowResult:
        body.byte(OP_CALL);
        body.u32(this.space.memoryGrowResultIndex);
        return;
      case Insert.LoopClose:
        this.emitLoopClose(mode, this.costs[region]!);
        return;
      case Insert.Remap:
      case Insert.RemapLabel:
      case Insert.LoopOpen:
        assert(false, 'remaps and loop openings are applied by assemble');
    }
  }

  private emitSubtract(cost: number): void {
    this.body.byte(OP_I64_CONST);
    this.body.s64(cost);
    this.body.byte(OP_I64_SUB);
  }

  /** counter -= cost, with no check (the next check is at most one loop header or call away). */
  private emitCharge(mode: Mode, cost: number): void {
    if (cost === 0) return;
    const body = this.body;
    const local = mode === Mode.Local;
    const index = local ? this.fuelLocal : this.space.fuelGlobalIndex;
    body.byte(local ? OP_LOCAL_GET : OP_GLOBAL_GET);
    body.u32(index);
    this.emitSubtract(cost);
    body.byte(local ? OP_LOCAL_SET : OP_GLOBAL_SET);
    body.u32(index);
  }

  /** A loop header's charge and check; a wrapped loop's check branches to its refill path. */
  private emitLoopCheck(mode: Mode, cost: number, wrapped: boolean): void {
    const body = this.body;
    const fuel = this.space.fuelGlobalIndex;
    body.byte(mode === Mode.Local ? OP_LOCAL_GET : OP_GLOBAL_GET);
    body.u32(mode === Mode.Local ? this.fuelLocal : fuel);
    if (cost > 0) {
      this.emitSubtract(cost);
      body.byte(OP_LOCAL_TEE);
      body.u32(this.fuelLocal);
      if (mode === Mode.Global) {
        body.byte(OP_GLOBAL_SET);
        body.u32(fuel);
        body.byte(OP_LOCAL_GET);
        body.u32(this.fuelLocal);
      }
    } else if (mode === Mode.Global) {
      body.byte(OP_LOCAL_TEE);
      body.u32(this.fuelLocal);
    }
    if (!wrapped) {
      this.emitExhaustedCheck(mode === Mode.Local ? AfterRefill.Reload : AfterRefill.Continue);
      return;
    }
    body.byte(OP_I64_CONST);
    body.byte(0);
    body.byte(OP_I64_LT_S);
    this.hintOffsets.push(body.length - this.bodyStart);
    body.byte(OP_BR_IF);
    body.u32(1); // block $refill: the loop itself is label 0
  }

  /**
   * After a wrapped loop's `end`. The wrapper is
   *   block <loop type> $exit; loop $again; block $refill; <the loop>; br $exit; end
   *   <refill>; br $again; end; unreachable; end
   * The loop's check branches to $refill when the counter is below zero; the
   * refill hands the counter to the host (out_of_fuel throws, or refills the
   * global), gives back the header's cost and enters the loop again, whose
   * header charges it from the refilled counter. So the loop holds no call
   * and no second definition of the counter: V8 keeps it in a register and
   * may unroll the loop, as it would the plain one.
   */
  private emitLoopClose(mode: Mode, headerCost: number): void {
    const body = this.body;
    const fuel = this.space.fuelGlobalIndex;
    body.byte(OP_BR);
    body.u32(2); // $exit, with the loop's results
    body.byte(OP_END); // $refill
    if (mode === Mode.Local) {
      body.byte(OP_LOCAL_GET);
      body.u32(this.fuelLocal);
      body.byte(OP_GLOBAL_SET);
      body.u32(fuel);
    }
    body.byte(OP_CALL);
    body.u32(this.space.outOfFuelIndex);
    body.byte(OP_GLOBAL_GET);
    body.u32(fuel);
    if (headerCost > 0) {
      body.byte(OP_I64_CONST);
      body.s64(headerCost);
      body.byte(OP_I64_ADD);
    }
    body.byte(mode === Mode.Local ? OP_LOCAL_SET : OP_GLOBAL_SET);
    body.u32(mode === Mode.Local ? this.fuelLocal : fuel);
    body.byte(OP_BR);
    body.u32(0); // $again
    body.byte(OP_END); // $again
    body.byte(0x00); // unreachable: $exit's results come only through the br above
    body.byte(OP_END); // $exit
  }

  /**
   * Consumes the counter on the stack (also in the fuel local): if it is below
   * zero, hand it to the host in the global and call out_of_fuel, which throws
   * or refills the global. What follows a refill is chosen so that the fast
   * path never joins the refill path with a second value of the counter (a
   * join costs registers and slows hot code measurably):
   * - Continue: the code after reads the global (global mode);
   * - CallAgain: the function prologue gives its cost back and calls the
   *   function again with the same arguments, returning what it returns (one
   *   extra frame, once per slice);
   * - Reload: load the local from the global (loops with parameters only).
   * The `if` is hinted unlikely (branch-hint section).
   */
  private emitExhaustedCheck(after: AfterRefill, prologueCost = 0): void {
    const body = this.body;
    const fuel = this.space.fuelGlobalIndex;
    body.byte(OP_I64_CONST);
    body.byte(0);
    body.byte(OP_I64_LT_S);
    this.hintOffsets.push(body.length - this.bodyStart);
    body.byte(OP_IF);
    body.byte(BLOCK_EMPTY);
    body.byte(OP_LOCAL_GET);
    body.u32(this.fuelLocal);
    body.byte(OP_GLOBAL_SET);
    body.u32(fuel);
    body.byte(OP_CALL);
    body.u32(this.space.outOfFuelIndex);
    switch (after) {
      case AfterRefill.Continue:
        break;
      case AfterRefill.Reload:
        body.byte(OP_GLOBAL_GET);
        body.u32(fuel);
        body.byte(OP_LOCAL_SET);
        body.u32(this.fuelLocal);
        break;
      case AfterRefill.CallAgain:
        if (this.passArguments) {
          // The same arguments, and the refilled counter with the entry's cost given back.
          for (let param = 0; param < this.paramCount; param++) {
            body.byte(OP_LOCAL_GET);
            body.u32(param);
          }
          body.byte(OP_GLOBAL_GET);
          body.u32(fuel);
          if (prologueCost > 0) {
            body.byte(OP_I64_CONST);
            body.s64(prologueCost);
            body.byte(OP_I64_ADD);
          }
          body.byte(OP_CALL);
          body.u32(this.selfIndex);
          if (this.fromGlobal) {
            body.byte(OP_GLOBAL_SET);
            body.u32(fuel);
          }
          body.byte(OP_RETURN);
          break;
        }
        if (prologueCost > 0) {
          body.byte(OP_GLOBAL_GET);
          body.u32(fuel);
          body.byte(OP_I64_CONST);
          body.s64(prologueCost);
          body.byte(OP_I64_ADD);
          body.byte(OP_GLOBAL_SET);
          body.u32(fuel);
        }
        for (let param = 0; param < this.paramCount; param++) {
          body.byte(OP_LOCAL_GET);
          body.u32(param);
        }
        body.byte(OP_CALL);
        body.u32(this.selfIndex);
        body.byte(OP_RETURN);
        break;
    }
    body.byte(OP_END);
  }
}
