/**
 * Invariants: an assertion failing is a bug in wasmos, never an operating error.
 * Request handlers must not catch InvariantError; it should crash loudly in tests.
 * Operating errors (bad input from the network, a full queue) are typed values instead.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new InvariantError(why);
}

/** For exhaustive switches: the compiler proves this is unreachable. */
export function unreachable(value: never, why = 'unreachable'): never {
  throw new InvariantError(`${why}: ${JSON.stringify(value)}`);
}
