/** A tiny assembler for hand-built test modules: sections from bytes and opcodes. */

export const I32 = 0x7f;
export const I64 = 0x7e;

export const op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  try: 0x06,
  catch: 0x07,
  throw: 0x08,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  returnCall: 0x12,
  returnCallIndirect: 0x13,
  drop: 0x1a,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Load8u: 0x2d,
  memoryGrow: 0x40,
  i32Const: 0x41,
  i32LtS: 0x48,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32DivU: 0x6e,
  void: 0x40,
} as const;

export function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest & 0x7f;
    rest = Math.floor(rest / 0x80);
    out.push(rest === 0 ? low : low | 0x80);
  } while (rest !== 0);
  return out;
}

export function sleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const low = ((rest % 0x80) + 0x80) % 0x80;
    rest = (rest - low) / 0x80;
    const done = (rest === 0 && (low & 0x40) === 0) || (rest === -1 && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

export interface FunctionDef {
  readonly params?: number[];
  readonly results?: number[];
  readonly locals?: number[];
  /** Declared locals as (count, type) groups, after `locals` (which are groups of one). */
  readonly localGroups?: [number, number][];
  /** Instructions without the final `end`. */
  readonly body: number[];
  readonly exportName?: string;
}

export interface ImportedFunction {
  readonly module: string;
  readonly name: string;
  readonly params?: number[];
  readonly results?: number[];
}

export interface ModuleDef {
  readonly imports?: ImportedFunction[];
  readonly functions: FunctionDef[];
  readonly memory?: { min: number; max?: number; exportName?: string };
  readonly table?: { min: number; max?: number; elements: number[] };
  readonly data?: { offset: number; bytes: number[] }[];
  /** Defined mutable i32 globals, with their initial values. */
  readonly globals?: number[];
  /** Tags (legacy exceptions), each with i32 params. */
  readonly tags?: number;
}

/** Function indices count the imported functions first, as in wasm. */
export function buildModule(def: ModuleDef): Uint8Array {
  const types: string[] = [];
  const typeIndex = (params: number[] = [], results: number[] = []): number => {
    const key = JSON.stringify([params, results]);
    if (!types.includes(key)) types.push(key);
    return types.indexOf(key);
  };
  const imports = (def.imports ?? []).map((entry) => [
    ...name(entry.module),
    ...name(entry.name),
    0x00,
    ...uleb(typeIndex(entry.params, entry.results)),
  ]);
  const functionTypes = def.functions.map((fn) => uleb(typeIndex(fn.params, fn.results)));
  const tagType = def.tags ? typeIndex([I32], []) : 0;
  const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const typeEntries = types.map((key) => {
    const [params, results] = JSON.parse(key) as [number[], number[]];
    return [
      0x60,
      ...vector(params.map((type) => [type])),
      ...vector(results.map((type) => [type])),
    ];
  });
  bytes.push(...section(1, vector(typeEntries)));
  if (imports.length > 0) bytes.push(...section(2, vector(imports)));
  bytes.push(...section(3, vector(functionTypes)));
  if (def.table) {
    const limits =
      def.table.max === undefined
        ? [0x00, ...uleb(def.table.min)]
        : [0x01, ...uleb(def.table.min), ...uleb(def.table.max)];
    bytes.push(...section(4, vector([[0x70, ...limits]])));
  }
  if (def.memory) {
    const { min, max } = def.memory;
    const limits = max === undefined ? [0x00, ...uleb(min)] : [0x01, ...uleb(min), ...uleb(max)];
    bytes.push(...section(5, vector([limits])));
  }
  if (def.tags)
    bytes.push(
      ...section(13, vector(Array.from({ length: def.tags }, () => [0x00, ...uleb(tagType)]))),
    );
  if (def.globals) {
    bytes.push(
      ...section(
        6,
        vector(def.globals.map((value) => [I32, 0x01, op.i32Const, ...sleb(value), op.end])),
      ),
    );
  }
  const importedCount = imports.length;
  const exports: number[][] = [];
  def.functions.forEach((fn, index) => {
    if (fn.exportName) exports.push([...name(fn.exportName), 0x00, ...uleb(importedCount + index)]);
  });
  if (def.memory?.exportName) exports.push([...name(def.memory.exportName), 0x02, 0x00]);
  bytes.push(...section(7, vector(exports)));
  if (def.table) {
    const functions = vector(def.table.elements.map((index) => uleb(index)));
    bytes.push(...section(9, vector([[0x00, op.i32Const, 0x00, op.end, ...functions]])));
  }
  const bodies = def.functions.map((fn) => {
    const locals = vector([
      ...(fn.locals ?? []).map((type) => [0x01, type]),
      ...(fn.localGroups ?? []).map(([count, type]) => [...uleb(count), type]),
    ]);
    const body = [...locals, ...fn.body, op.end];
    return [...uleb(body.length), ...body];
  });
  bytes.push(...section(10, vector(bodies)));
  if (def.data) {
    const segments = def.data.map((segment) => [
      0x00,
      op.i32Const,
      ...sleb(segment.offset),
      op.end,
      ...vector(segment.bytes.map((byte) => [byte])),
    ]);
    bytes.push(...section(11, vector(segments)));
  }
  return new Uint8Array(bytes);
}
