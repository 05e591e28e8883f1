/**
 * An error a client can act on: a stable machine-readable `code` plus a human message.
 * Thrown only at the imperative shell (CLI, HTTP adapters); the core returns Results.
 */
export class WasmosError extends Error {
  override readonly name = 'WasmosError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}
