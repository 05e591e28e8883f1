import type { Clock } from '../../lib/clock.js';
import { err, ok, type Result } from '../../lib/result.js';
import { ReplayGuard } from '../../protocol/envelope/replay.js';
import { open } from '../../protocol/envelope/open.js';
import type { Signer } from '../../protocol/envelope/seal.js';
import type { TrustStore } from '../../protocol/keys/trust.js';
import type { AgentCall, AgentEvent } from '../../protocol/messages/agent.js';
import { RecordIoDecoder } from '../../protocol/recordio.js';

/** Redirects followed for one request (a 307 names the leader; a chain means masters disagree). */
export const REDIRECTS_MAX = 3;
export const AGENT_PATH = '/api/v1/agent';
export const STREAM_ID_HEADER = 'Mesos-Stream-Id';

export type ChannelErrorCode =
  'UNREACHABLE' | 'NO_LEADER' | 'REFUSED' | 'REDIRECT_LOOP' | 'BAD_STREAM';

export interface ChannelError {
  readonly code: ChannelErrorCode;
  readonly message: string;
  readonly status?: number;
}

export interface Subscription {
  readonly streamId: string;
  /** Verified events in order; ends when the stream ends, throws ChannelFailure when it breaks. */
  readonly events: AsyncIterable<AgentEvent>;
  /** Closes the stream from this side. */
  close(): void;
}

export class ChannelFailure extends Error {
  override readonly name = 'ChannelFailure';
  constructor(readonly failure: ChannelError) {
    super(failure.message);
  }
}

export interface ChannelOptions {
  /** Where to start; replaced by the leader's origin when a master redirects. */
  readonly masterUrl: string;
  readonly signer: Signer;
  /** Master keys only: an event signed by anything else is refused. */
  readonly trust: TrustStore;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly fetch?: typeof fetch;
}

/**
 * The HTTP client side of docs/AGENT-CHANNEL.md: signs calls, opens the event stream, verifies
 * every event (signature by a trusted master key, replay window, clock skew, schema), follows
 * 307 redirects to the leader. No retry policy here: that is AgentSession's.
 */
export class AgentChannel {
  private masterOrigin: string;
  private readonly replay = new ReplayGuard();

  constructor(private readonly options: ChannelOptions) {
    this.masterOrigin = new URL(options.masterUrl).origin;
  }

  get master(): string {
    return this.masterOrigin;
  }

  /** Sends REGISTER or REREGISTER and returns the event stream the master answers with. */
  async subscribe(call: AgentCall): Promise<Result<Subscription, ChannelError>> {
    const abort = new AbortController();
    const response = await this.post(call, undefined, abort.signal, true);
    if (!response.ok) return response;
    const streamId = response.value.headers.get(STREAM_ID_HEADER);
    const body = response.value.body;
    if (!streamId || !body) {
      abort.abort();
      return err({
        code: 'BAD_STREAM',
        message: 'the master answered without a stream id or body',
      });
    }
    return ok({
      streamId,
      events: this.readEvents(body, abort.signal),
      close: () => abort.abort(),
    });
  }

  /** Sends HEARTBEAT, STATUS_UPDATE or LOGS on an open stream; ok when the master accepted it (202). */
  async send(call: AgentCall, streamId: string): Promise<Result<void, ChannelError>> {
    const response = await this.post(
      call,
      streamId,
      AbortSignal.timeout(this.options.requestTimeoutMs),
      false,
    );
    if (!response.ok) return response;
    await response.value.body?.cancel();
    return ok(undefined);
  }

  private async post(
    call: AgentCall,
    streamId: string | undefined,
    signal: AbortSignal,
    streaming: boolean,
  ): Promise<Result<Response, ChannelError>> {
    const fetcher = this.options.fetch ?? fetch;
    const envelope = this.options.signer.seal('agent.call', call);
    for (let redirects = 0; redirects <= REDIRECTS_MAX; redirects++) {
      const headers: Record<string, string> = {
        'content-type': 'application/cbor',
        accept: streaming ? 'application/recordio' : 'application/json',
      };
      if (streamId) headers[STREAM_ID_HEADER] = streamId;
      let response: Response;
      try {
        const url = this.masterOrigin + AGENT_PATH;
        response = await fetcher(url, {
          method: 'POST',
          headers,
          body: envelope,
          redirect: 'manual',
          signal,
        });
      } catch (error) {
        return err({ code: 'UNREACHABLE', message: `${this.masterOrigin}: ${describe(error)}` });
      }
      if (response.status === 307 || response.status === 308) {
        const location = response.headers.get('location');
        await response.body?.cancel();
        if (!location)
          return err({ code: 'NO_LEADER', message: 'redirect without a Location', status: 307 });
        this.masterOrigin = new URL(location, this.masterOrigin).origin;
        continue;
      }
      if (response.status === (streaming ? 200 : 202)) return ok(response);
      return err(await refusal(response));
    }
    return err({ code: 'REDIRECT_LOOP', message: `more than ${REDIRECTS_MAX} redirects` });
  }

  private async *readEvents(
    body: ReadableStream<Uint8Array>,
    signal: AbortSignal,
  ): AsyncIterable<AgentEvent> {
    const decoder = new RecordIoDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (signal.aborted) return;
          throw new ChannelFailure({
            code: 'UNREACHABLE',
            message: `stream broke: ${describe(error)}`,
          });
        }
        if (chunk.done) return;
        const records = decoder.push(chunk.value);
        if (!records.ok)
          throw new ChannelFailure({ code: 'BAD_STREAM', message: records.error.message });
        for (const record of records.value) yield this.verify(record);
      }
    } finally {
      reader.releaseLock();
      if (!signal.aborted) void body.cancel().catch(() => undefined);
    }
  }

  private verify(record: Uint8Array): AgentEvent {
    const opened = open(record, this.options.trust, this.replay, {
      nowMs: this.options.clock.nowMs(),
      types: ['agent.event'],
    });
    if (!opened.ok) {
      throw new ChannelFailure({
        code: 'BAD_STREAM',
        message: `refused event: ${opened.error.code}: ${opened.error.message}`,
      });
    }
    if (opened.value.type !== 'agent.event' || opened.value.signer.role !== 'master') {
      throw new ChannelFailure({
        code: 'BAD_STREAM',
        message: 'an event not signed by a master key',
      });
    }
    return opened.value.body;
  }
}

async function refusal(response: Response): Promise<ChannelError> {
  const text = (await response.text().catch(() => '')).slice(0, 1000);
  const status = response.status;
  if (status === 503)
    return { code: 'NO_LEADER', message: `no leading master (503) ${text}`, status };
  return { code: 'REFUSED', message: `master answered ${status}: ${text}`, status };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
