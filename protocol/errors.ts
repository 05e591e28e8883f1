/**
 * Why an envelope was refused. The code is stable (clients and metrics key on it); the message
 * names the field or limit involved and is for humans.
 */
export const protocolErrorCodes = [
  'MALFORMED',
  'TOO_LARGE',
  'UNKNOWN_KEY',
  'BAD_SIGNATURE',
  'REPLAYED',
  'STALE',
  'WRONG_ROLE',
  'SCHEMA',
] as const;

export type ProtocolErrorCode = (typeof protocolErrorCodes)[number];

export interface ProtocolError {
  readonly code: ProtocolErrorCode;
  readonly message: string;
}

export function protocolError(code: ProtocolErrorCode, message: string): ProtocolError {
  return { code, message };
}
