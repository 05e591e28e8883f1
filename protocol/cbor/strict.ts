import { protocolLimits } from '../limits.js';

/**
 * A well-formedness check run before cbor-x decodes untrusted bytes. cbor-x is lenient (it takes
 * the last of duplicate map keys, accepts indefinite lengths and many tags); the wire protocol
 * uses none of that, so anything outside this plain subset is refused up front:
 * definite lengths only, no tags, text map keys without duplicates, no `undefined` or other
 * simple values beyond false/true/null, bounded depth, exactly one item with no trailing bytes.
 * Returns a reason, or undefined when the bytes are acceptable.
 */
export function checkStrictCbor(
  bytes: Uint8Array,
  depthMax: number = protocolLimits.cborDepthMax,
): string | undefined {
  const reader = new StrictReader(bytes, depthMax);
  const reason = reader.item(0);
  if (reason !== undefined) return reason;
  if (reader.offset !== bytes.length) return `trailing bytes after CBOR item at ${reader.offset}`;
  return undefined;
}

const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;

/** Maps with more keys than this check duplicates with a Set instead of pairwise compares. */
const PAIRWISE_KEYS_MAX = 16;

class StrictReader {
  offset = 0;
  // The head just read, kept in fields rather than an object: this runs on every message.
  private major = 0;
  private info = 0;
  /** The argument (length, count or integer value); unused for floats and simple values. */
  private argument = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly depthMax: number,
  ) {}

  item(depth: number): string | undefined {
    if (depth > this.depthMax) return `CBOR nested deeper than ${this.depthMax}`;
    const headReason = this.readHead();
    if (headReason !== undefined) return headReason;
    switch (this.major) {
      case MAJOR_UNSIGNED:
      case MAJOR_NEGATIVE:
        return undefined;
      case MAJOR_BYTES:
      case MAJOR_TEXT:
        return this.skip(this.argument);
      case MAJOR_ARRAY:
        return this.array(this.argument, depth);
      case MAJOR_MAP:
        return this.map(this.argument, depth);
      case MAJOR_TAG:
        return `CBOR tag ${this.argument} at ${this.offset} is not allowed`;
      default:
        return simpleReason(this.info, this.offset);
    }
  }

  private array(count: number, depth: number): string | undefined {
    if (count > this.remaining()) return `CBOR array of ${count} items overruns the input`;
    for (let index = 0; index < count; index++) {
      const reason = this.item(depth + 1);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  private map(count: number, depth: number): string | undefined {
    if (count * 2 > this.remaining()) return `CBOR map of ${count} entries overruns the input`;
    // Key spans as [start, end) pairs, to find duplicates.
    const spans: number[] = [];
    const keySet = count > PAIRWISE_KEYS_MAX ? new Set<string>() : undefined;
    for (let index = 0; index < count; index++) {
      const keyAt = this.offset;
      const headReason = this.readHead();
      if (headReason !== undefined) return headReason;
      if (this.major !== MAJOR_TEXT) return `CBOR map key at ${keyAt} is not a text string`;
      const keyStart = this.offset;
      const skipReason = this.skip(this.argument);
      if (skipReason !== undefined) return skipReason;
      if (this.isDuplicateKey(keyStart, spans, keySet)) return `duplicate CBOR map key at ${keyAt}`;
      const valueReason = this.item(depth + 1);
      if (valueReason !== undefined) return valueReason;
    }
    return undefined;
  }

  /** Records the key ending at the current offset; true if the map already had it. */
  private isDuplicateKey(start: number, spans: number[], keySet: Set<string> | undefined): boolean {
    const end = this.offset;
    if (keySet) {
      const key = Buffer.from(
        this.bytes.buffer,
        this.bytes.byteOffset + start,
        end - start,
      ).toString('latin1');
      if (keySet.has(key)) return true;
      keySet.add(key);
      return false;
    }
    for (let index = 0; index < spans.length; index += 2) {
      if (this.sameBytes(spans[index]!, spans[index + 1]!, start, end)) return true;
    }
    spans.push(start, end);
    return false;
  }

  private sameBytes(
    leftStart: number,
    leftEnd: number,
    rightStart: number,
    rightEnd: number,
  ): boolean {
    if (leftEnd - leftStart !== rightEnd - rightStart) return false;
    for (let index = 0; index < leftEnd - leftStart; index++) {
      if (this.bytes[leftStart + index] !== this.bytes[rightStart + index]) return false;
    }
    return true;
  }

  private skip(length: number): string | undefined {
    if (length > this.remaining()) return `CBOR string of ${length} bytes overruns the input`;
    this.offset += length;
    return undefined;
  }

  private remaining(): number {
    return this.bytes.length - this.offset;
  }

  private readHead(): string | undefined {
    const at = this.offset;
    if (at >= this.bytes.length) return 'CBOR input ends early';
    const initial = this.bytes[at]!;
    this.major = initial >> 5;
    this.info = initial & 0x1f;
    this.offset = at + 1;
    if (this.info < 24) {
      this.argument = this.info;
      return undefined;
    }
    if (this.info === 31) return `indefinite-length CBOR item at ${at} is not allowed`;
    if (this.info > 27) return `reserved CBOR additional info ${this.info} at ${at}`;
    const size = 1 << (this.info - 24);
    if (size > this.remaining()) return 'CBOR input ends early';
    this.argument = this.readArgument(size);
    this.offset += size;
    return undefined;
  }

  /** Big-endian argument; above 2^53 it only needs to compare as "too large", so precision loss is fine. */
  private readArgument(size: number): number {
    let value = 0;
    for (let index = 0; index < size; index++)
      value = value * 256 + this.bytes[this.offset + index]!;
    return value;
  }
}

const SIMPLE_FALSE = 20;
const SIMPLE_NULL = 22;
const FLOAT_HALF = 25;
const FLOAT_DOUBLE = 27;

function simpleReason(info: number, offset: number): string | undefined {
  if (info >= SIMPLE_FALSE && info <= SIMPLE_NULL) return undefined;
  if (info >= FLOAT_HALF && info <= FLOAT_DOUBLE) return undefined;
  return `CBOR simple value ${info} before ${offset} is not allowed`;
}
