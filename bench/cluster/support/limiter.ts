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

/** Network failures a call is retried through before the bench gives up. */
const NETWORK_ATTEMPTS_MAX = 5;

export interface SignedPost {
  readonly url: string;
  /** The sealed envelope. */
  readonly body: Uint8Array;
  readonly streamId: string | undefined;
  /** Streams (SUBSCRIBE, REGISTER) carry one: they go at once, outside the limiter. */
  readonly signal?: AbortSignal;
}

/**
 * Posts a signed CBOR call. A stream goes at once; other calls wait for room among `calls` and
 * are retried on a network failure (a real framework or agent retries too).
 */
export function postSigned(calls: Limiter, post: SignedPost): Promise<Response> {
  const send = () =>
    fetch(post.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/cbor',
        ...(post.streamId ? { 'mesos-stream-id': post.streamId } : {}),
      },
      body: post.body,
      ...(post.signal ? { signal: post.signal } : {}),
    });
  if (post.signal) return send();
  return calls.run(async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        if (attempt >= NETWORK_ATTEMPTS_MAX) throw new Error(describeFailure(error));
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
}

/** The cause of a failed fetch, which undici hides behind `fetch failed`. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
