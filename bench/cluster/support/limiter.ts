/**
 * At most `max` calls in flight; the rest wait in order. A bench client that opened a socket
 * per outstanding call would have the master's listen backlog overflow (resets) at a few
 * hundred at once, which measures the client, not the master.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Calls in flight per bench client (framework or simulated agent). */
export const CALLS_IN_FLIGHT_MAX = 32;

/** The cause of a failed fetch, which undici hides behind `fetch failed`. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
