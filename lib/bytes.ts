/**
 * The parts as one fresh Uint8Array (never a view into a shared pool, unlike Buffer.concat, so
 * the result can be transferred to or from a worker). `bytes`: their total length, when the
 * caller already counted it.
 */
export function joinBytes(
  parts: readonly Uint8Array[],
  bytes = parts.reduce((sum, part) => sum + part.byteLength, 0),
): Uint8Array {
  const joined = new Uint8Array(bytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}
