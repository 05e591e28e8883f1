/** Tells a component from a core module by the preamble, before any parsing. */
export type BinaryKind = 'component' | 'module' | 'not_wasm';

const magic = [0x00, 0x61, 0x73, 0x6d];

export function binaryKind(bytes: Uint8Array): BinaryKind {
  if (bytes.length < 8 || magic.some((byte, index) => bytes[index] !== byte)) return 'not_wasm';
  // Version 1 with layer 0 is a core module; the component model's layer is 1.
  if (bytes[4] === 0x01 && bytes[5] === 0x00 && bytes[6] === 0x00 && bytes[7] === 0x00) {
    return 'module';
  }
  if (bytes[6] === 0x01 && bytes[7] === 0x00) return 'component';
  return 'not_wasm';
}
