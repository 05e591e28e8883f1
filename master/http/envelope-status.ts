import type { ProtocolErrorCode } from '../../protocol/index.js';

/**
 * How each refusal of a signed envelope answers over HTTP, on every channel that takes envelopes
 * (the scheduler and agent APIs, the masters' replica calls): a malformed, stale or replayed one is the sender's mistake
 * (400), one too large is 413, and one from a key we do not trust, or for another role, is 403.
 */
export const ENVELOPE_REFUSAL_STATUS: Readonly<Record<ProtocolErrorCode, 400 | 403 | 413>> = {
  MALFORMED: 400,
  TOO_LARGE: 413,
  SCHEMA: 400,
  STALE: 400,
  REPLAYED: 400,
  UNKNOWN_KEY: 403,
  BAD_SIGNATURE: 403,
  WRONG_ROLE: 403,
};
