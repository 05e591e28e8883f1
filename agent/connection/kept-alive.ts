import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Connections kept open to the master for calls (each carries one call at a time). */
export const CALL_SOCKETS_MAX = 8;
/**
 * Bytes of an answer's body read: the master answers calls with 202 and no body, an error, or
 * (STATUS_UPDATES) the list of refused updates, at most 128 short entries.
 */
export const ANSWER_BYTES_MAX = 64 * 1024;

/** An answer whose body is left to read: the event stream. */
export interface OpenAnswer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: IncomingMessage;
}

export interface PostAnswer {
  readonly status: number;
  readonly location: string | undefined;
  /** The start of the body (up to ANSWER_BYTES_MAX bytes), as text. */
  readonly body: string;
}

/**
 * POSTs over kept-alive connections (node:http agents), for the agent's calls: a status update,
 * heartbeat or logs call reuses a connection instead of opening one per call, and skips what
 * `fetch` builds per request (Request, Response, web streams). A call on a kept connection that
 * the master closed meanwhile (ECONNRESET before any answer) is retried once on a new one.
 */
export class KeptAliveClient {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: CALL_SOCKETS_MAX });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: CALL_SOCKETS_MAX });

  async post(
    url: string,
    headers: Readonly<Record<string, string>>,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<PostAnswer> {
    try {
      return await this.once(url, headers, body, timeoutMs);
    } catch (error) {
      if (!(error instanceof StaleConnection)) throw error;
      return this.once(url, headers, body, timeoutMs);
    }
  }

  /**
   * A POST whose answer is a long stream (the subscription): on a connection of its own, not
   * kept for calls; `timeoutMs` bounds the wait for the answer's head only (the stream's
   * liveness is the session's heartbeat watchdog). Aborting `signal` destroys the stream.
   */
  stream(
    url: string,
    headers: Readonly<Record<string, string>>,
    body: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<OpenAnswer> {
    const secure = url.startsWith('https:');
    const send = secure ? httpsRequest : httpRequest;
    return new Promise<OpenAnswer>((resolve, reject) => {
      const request = send(url, {
        method: 'POST',
        agent: false,
        signal,
        headers: { ...headers, 'content-length': String(body.byteLength) },
      });
      request.setTimeout(timeoutMs, () =>
        request.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      );
      request.on('error', reject);
      request.on('response', (response: IncomingMessage) => {
        request.setTimeout(0);
        // Whoever reads the body sees its errors; one dropped unread (a redirect) must not throw.
        response.on('error', () => undefined);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response });
      });
      request.end(body);
    });
  }

  /** Closes the kept connections. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private once(
    url: string,
    headers: Readonly<Record<string, string>>,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<PostAnswer> {
    const secure = url.startsWith('https:');
    const send = secure ? httpsRequest : httpRequest;
    return new Promise<PostAnswer>((resolve, reject) => {
      const request = send(url, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...headers, 'content-length': String(body.byteLength) },
      });
      request.setTimeout(timeoutMs, () =>
        request.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      );
      request.on('error', (error: Error & { code?: string }) => {
        reject(request.reusedSocket && error.code === 'ECONNRESET' ? new StaleConnection() : error);
      });
      request.on('response', (response: IncomingMessage) => {
        readAnswer(response).then(resolve, reject);
      });
      request.end(body);
    });
  }
}

class StaleConnection extends Error {}

/** Reads the start of an answer's body as text (the rest is read and dropped). */
export function readAnswer(response: IncomingMessage): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const answer = (): PostAnswer => ({
      status: response.statusCode ?? 0,
      location: response.headers.location,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    response.on('data', (chunk: Buffer) => {
      if (bytes >= ANSWER_BYTES_MAX) return;
      chunks.push(chunk.subarray(0, ANSWER_BYTES_MAX - bytes));
      bytes += chunk.length;
    });
    response.on('end', () => resolve(answer()));
    response.on('error', reject);
  });
}
