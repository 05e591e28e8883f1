import { err, ok, type Result } from '../../lib/result.js';
import { isKeyId } from '../keys/key-id.js';
import { protocolLimits } from '../limits.js';

/** The version of the envelope layout this code writes and reads. */
export const ENVELOPE_VERSION = 1;

/** The decoded payload of an envelope, before its body is checked against its type's schema. */
export interface EnvelopeHeader {
  readonly v: typeof ENVELOPE_VERSION;
  readonly type: string;
  /** Key id of the signer. */
  readonly sender: string;
  /** The sender's session id: random per process start, so a restart starts a new sequence. */
  readonly sid: string;
  /** Per (sender, sid), strictly increasing from 1. */
  readonly seq: number;
  /** Send time, ms since the epoch. */
  readonly ts: number;
  readonly body: unknown;
}

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const TYPE_PATTERN = /^[a-z][a-z0-9_.-]*$/;
const HEADER_KEYS = ['v', 'type', 'sender', 'sid', 'seq', 'ts', 'body'] as const;
/** Timestamps are ms since the epoch; year 9999 bounds them well inside safe integers. */
const TS_MS_MAX = 253_402_300_799_999;

/** Checks the decoded payload has exactly the header fields, each of the right type and range. */
export function readHeader(value: unknown): Result<EnvelopeHeader, string> {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    return err('payload is not a map');
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (const key of keys) {
    if (!(HEADER_KEYS as readonly string[]).includes(key))
      return err(`payload has unknown field "${key}"`);
  }
  if (keys.length !== HEADER_KEYS.length) {
    return err(`payload lacks ${HEADER_KEYS.filter((key) => !keys.includes(key)).join(', ')}`);
  }
  const { v, type, sender, sid, seq, ts, body } = record;
  if (v !== ENVELOPE_VERSION)
    return err(`payload v is ${String(v)}, this code reads ${ENVELOPE_VERSION}`);
  if (!isBoundedString(type, protocolLimits.typeCharsMax, TYPE_PATTERN))
    return err('payload type is not a message type name');
  if (typeof sender !== 'string' || !isKeyId(sender)) return err('payload sender is not a key id');
  if (!isBoundedString(sid, protocolLimits.sessionIdCharsMax, SESSION_ID_PATTERN))
    return err('payload sid is not a session id');
  if (!isCount(seq, 1, Number.MAX_SAFE_INTEGER)) return err('payload seq is not an integer >= 1');
  if (!isCount(ts, 0, TS_MS_MAX)) return err('payload ts is not a timestamp in ms');
  return ok({ v, type, sender, sid, seq, ts, body });
}

export function isSessionId(value: string): boolean {
  return isBoundedString(value, protocolLimits.sessionIdCharsMax, SESSION_ID_PATTERN);
}

function isBoundedString(value: unknown, charsMax: number, pattern: RegExp): value is string {
  return typeof value === 'string' && value.length <= charsMax && pattern.test(value);
}

function isCount(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
