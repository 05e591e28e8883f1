// Builds tiny core modules byte by byte for tests that need a specific shape.
const encoder = new TextEncoder();

function name(text: string): number[] {
  const bytes = [...encoder.encode(text)];
  return [bytes.length, ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, content.length, ...content];
}

export interface ModuleShape {
  /** Function imports of type () -> (). */
  readonly imports?: ReadonlyArray<readonly [string, string]>;
  readonly exportStart?: boolean;
  readonly exportMemory?: boolean;
}

/** A module with one memory and one empty function, importing and exporting as asked. */
export function buildModule(shape: ModuleShape): Uint8Array {
  const imports = shape.imports ?? [];
  const exports: number[][] = [];
  if (shape.exportStart ?? true) exports.push([...name('_start'), 0x00, imports.length]);
  if (shape.exportMemory ?? true) exports.push([...name('memory'), 0x02, 0x00]);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(2, [
      imports.length,
      ...imports.flatMap(([module, field]) => [...name(module), ...name(field), 0x00, 0x00]),
    ]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [exports.length, ...exports.flat()]),
    ...section(10, [1, 2, 0, 0x0b]),
  ]);
}
