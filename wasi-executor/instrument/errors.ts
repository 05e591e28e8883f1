/** Why a module could not be instrumented: always a value, never a thrown error. */
export type InstrumentErrorCode =
  /** The bytes are not a well-formed core module (truncated, bad LEB, bad structure). */
  | 'malformed'
  /** Well-formed, but uses a feature the instrumenter does not handle (named in the message). */
  | 'unsupported'
  /** The module already imports from the limits import module. */
  | 'already_instrumented'
  /** Larger than `moduleBytesMax`. */
  | 'too_large';

export interface InstrumentError {
  readonly code: InstrumentErrorCode;
  /** The section being read ('header', 'type', 'code', ...). */
  readonly section: string;
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;
  readonly message: string;
}

/**
 * Internal: thrown by the readers deep inside the parser and caught at the
 * one public entry point, which turns it into an InstrumentError value.
 */
export class ParseFailure extends Error {
  override readonly name = 'ParseFailure';
  constructor(
    readonly code: InstrumentErrorCode,
    readonly section: string,
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}
