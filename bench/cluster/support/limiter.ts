import { Agent, request } from 'node:http';

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
  /** Streams (openSignedStream: SUBSCRIBE, REGISTER) carry one. */
  readonly signal?: AbortSignal;
}

/** A call's answer: its status and (the start of) its body. */
export interface CallAnswer {
  readonly status: number;
  readonly text: string;
}

/** Bytes of an answer's body kept (calls answer 202 with no body, or a short error). */
const ANSWER_BYTES_MAX = 4096;

/**
 * Kept-alive connections for calls, as many as calls in flight: a call reuses one instead of
 * opening a socket, and skips what `fetch` builds per request (Request, Headers, Response, web
 * streams), which a real framework need not pay either.
 */
const callAgent = new Agent({ keepAlive: true, maxSockets: CALLS_IN_FLIGHT_MAX });

/** Opens a stream (SUBSCRIBE, REGISTER): a signed CBOR POST whose answer is read as it comes. */
export function openSignedStream(post: SignedPost & { signal: AbortSignal }): Promise<Response> {
  return fetch(post.url, {
    method: 'POST',
    headers: headersOf(post),
    body: post.body,
    signal: post.signal,
  });
}

/**
 * Posts a signed CBOR call once there is room among `calls`, over a kept-alive connection;
 * retried on a network failure (a real framework or agent retries too).
 */
export function postSigned(calls: Limiter, post: SignedPost): Promise<CallAnswer> {
  return calls.run(async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await postOnce(post);
      } catch (error) {
        if (attempt >= NETWORK_ATTEMPTS_MAX) throw new Error(describeFailure(error));
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
}

function headersOf(post: SignedPost): Record<string, string> {
  return {
    'content-type': 'application/cbor',
    ...(post.streamId ? { 'mesos-stream-id': post.streamId } : {}),
  };
}

/** Parsed once per URL (a bench posts to one or two), not per call. */
const targets = new Map<string, { hostname: string; port: string; path: string }>();

function targetOf(url: string): { hostname: string; port: string; path: string } {
  let target = targets.get(url);
  if (!target) {
    const parsed = new URL(url);
    // An IPv6 literal comes bracketed in a URL, bare in request options.
    const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    target = { hostname, port: parsed.port, path: parsed.pathname };
    targets.set(url, target);
  }
  return target;
}

function postOnce(post: SignedPost): Promise<CallAnswer> {
  return new Promise<CallAnswer>((resolve, reject) => {
    const sent = request({
      ...targetOf(post.url),
      method: 'POST',
      agent: callAgent,
      headers: { ...headersOf(post), 'content-length': String(post.body.byteLength) },
    });
    sent.on('error', reject);
    sent.on('response', (answer) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      answer.on('data', (chunk: Buffer) => {
        if (bytes >= ANSWER_BYTES_MAX) return;
        chunks.push(chunk);
        bytes += chunk.length;
      });
      answer.on('error', reject);
      answer.on('end', () =>
        resolve({
          status: answer.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8', 0, ANSWER_BYTES_MAX),
        }),
      );
    });
    sent.end(post.body);
  });
}

/** The cause of a failed fetch, which undici hides behind `fetch failed`. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
