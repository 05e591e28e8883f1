import { Decoder, Encoder } from 'cbor-x';
import { err, ok, type Result } from '../../lib/result.js';
import { checkStrictCbor } from './strict.js';

/**
 * cbor-x with its extensions turned off, so any CBOR decoder can read what we write:
 * no record structures, no shared structures, no packing, plain maps for objects, Uint8Array as
 * a plain byte string, minimal map headers.
 */
const encoderOptions = {
  useRecords: false,
  structuredClone: false,
  pack: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: false,
  useTag259ForMaps: false,
  bundleStrings: false,
  useFloat32: 0,
};
// Passed through a variable: the cbor-x typings lack `useTag259ForMaps` (a JS Map would
// otherwise be tagged 259); our messages hold plain objects only, but keep the output plain.
const encoder = new Encoder(encoderOptions);

const decoder = new Decoder({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  bundleStrings: false,
  useFloat32: 0,
});

/** Encodes a plain value (objects, arrays, strings, numbers, booleans, null, Uint8Array). */
export function encodeCbor(value: unknown): Uint8Array {
  // Most values hold no `undefined`: looking costs less than copying every object to drop them.
  return encoder.encode(holdsUndefined(value) ? withoutUndefined(value) : value);
}

/** Decodes untrusted bytes: the strict subset check first, then cbor-x. Never throws. */
export function decodeCbor(bytes: Uint8Array): Result<unknown, string> {
  const reason = checkStrictCbor(bytes);
  if (reason !== undefined) return err(reason);
  try {
    return ok(decoder.decode(bytes) as unknown);
  } catch (error) {
    return err(`CBOR decode failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Optional fields left `undefined` (e.g. by a spread) would be written as CBOR `undefined`, which
 * the strict reader refuses; dropping them makes "absent" the only way to say "not set".
 */
/** Whether `withoutUndefined` would change anything (so the copy can be skipped). */
function holdsUndefined(value: unknown): boolean {
  if (value === undefined) return true;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsUndefined(item)) return true;
    return false;
  }
  // Anything but a plain object goes the copying way, which reads it as a plain object.
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (holdsUndefined((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) copy[key] = withoutUndefined(field);
  }
  return copy;
}
