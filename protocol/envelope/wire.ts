import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';

/**
 * The outer wrapper, CBOR `{ payload: bytes, sig: bytes }`, written and read by hand: it has a
 * fixed shape, so a hand parser can be exact (two entries, these two keys once each, definite
 * byte strings with shortest-form lengths, a 64-byte signature, nothing after) and returns the
 * payload as a view of the input: the signature is checked over those very bytes.
 */
export interface Wrapped {
  readonly payload: Uint8Array;
  readonly sig: Uint8Array;
}

export const SIGNATURE_BYTES = 64;

const MAP_OF_TWO = 0xa2;
const KEY_PAYLOAD = Uint8Array.of(0x67, ...Buffer.from('payload', 'latin1'));
const KEY_SIG = Uint8Array.of(0x63, ...Buffer.from('sig', 'latin1'));
const MAJOR_BYTES = 2;

export function wrap(payload: Uint8Array, sig: Uint8Array): Uint8Array {
  assert(sig.length === SIGNATURE_BYTES, 'an Ed25519 signature is 64 bytes');
  const payloadHead = byteStringHead(payload.length);
  const sigHead = byteStringHead(sig.length);
  const out = new Uint8Array(
    1 +
      KEY_PAYLOAD.length +
      payloadHead.length +
      payload.length +
      KEY_SIG.length +
      sigHead.length +
      sig.length,
  );
  let offset = 0;
  for (const part of [
    Uint8Array.of(MAP_OF_TWO),
    KEY_PAYLOAD,
    payloadHead,
    payload,
    KEY_SIG,
    sigHead,
    sig,
  ]) {
    out.set(part, offset);
    offset += part.length;
  }
  assert(offset === out.length, 'the wrapper is filled exactly');
  return out;
}

export function unwrap(bytes: Uint8Array): Result<Wrapped, string> {
  if (bytes.length === 0 || bytes[0] !== MAP_OF_TWO)
    return err('envelope is not a CBOR map of two entries');
  let offset = 1;
  let payload: Uint8Array | undefined;
  let sig: Uint8Array | undefined;
  for (let entry = 0; entry < 2; entry++) {
    const key = matchKey(bytes, offset);
    if (key === undefined) return err(`envelope key at ${offset} is neither "payload" nor "sig"`);
    offset += key === 'payload' ? KEY_PAYLOAD.length : KEY_SIG.length;
    const value = readByteString(bytes, offset);
    if (!value.ok) return err(`envelope ${key}: ${value.error}`);
    offset = value.value.end;
    if (key === 'payload') {
      if (payload) return err('envelope has "payload" twice');
      payload = value.value.bytes;
    } else {
      if (sig) return err('envelope has "sig" twice');
      sig = value.value.bytes;
    }
  }
  if (offset !== bytes.length) return err(`envelope has ${bytes.length - offset} trailing bytes`);
  if (!payload || !sig) return err('envelope lacks "payload" or "sig"');
  if (sig.length !== SIGNATURE_BYTES)
    return err(`envelope sig is ${sig.length} bytes, not ${SIGNATURE_BYTES}`);
  return ok({ payload, sig });
}

function matchKey(bytes: Uint8Array, offset: number): 'payload' | 'sig' | undefined {
  if (startsWith(bytes, offset, KEY_PAYLOAD)) return 'payload';
  if (startsWith(bytes, offset, KEY_SIG)) return 'sig';
  return undefined;
}

function startsWith(bytes: Uint8Array, offset: number, prefix: Uint8Array): boolean {
  if (offset + prefix.length > bytes.length) return false;
  for (let index = 0; index < prefix.length; index++) {
    if (bytes[offset + index] !== prefix[index]) return false;
  }
  return true;
}

function readByteString(
  bytes: Uint8Array,
  offset: number,
): Result<{ bytes: Uint8Array; end: number }, string> {
  if (offset >= bytes.length) return err('ends early');
  const initial = bytes[offset]!;
  if (initial >> 5 !== MAJOR_BYTES) return err('is not a byte string');
  const info = initial & 0x1f;
  if (info > 26) return err('has an unsupported length form');
  const size = info < 24 ? 0 : 1 << (info - 24);
  if (offset + 1 + size > bytes.length) return err('ends early');
  let length = info < 24 ? info : 0;
  for (let index = 0; index < size; index++) length = length * 256 + bytes[offset + 1 + index]!;
  if (size > 0 && byteStringHead(length).length !== 1 + size)
    return err('length is not in shortest form');
  const start = offset + 1 + size;
  if (length > bytes.length - start) return err(`claims ${length} bytes, more than remain`);
  return ok({ bytes: bytes.subarray(start, start + length), end: start + length });
}

function byteStringHead(length: number): Uint8Array {
  assert(Number.isInteger(length) && length >= 0, 'a length is a natural number');
  assert(length < 2 ** 32, 'byte strings here are shorter than 4 GiB');
  const major = MAJOR_BYTES << 5;
  if (length < 24) return Uint8Array.of(major | length);
  if (length < 0x100) return Uint8Array.of(major | 24, length);
  if (length < 0x10000) return Uint8Array.of(major | 25, length >> 8, length & 0xff);
  return Uint8Array.of(
    major | 26,
    (length >>> 24) & 0xff,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
  );
}
