import type { Clock } from '../../lib/clock.js';
import { err, ok, type Result } from '../../lib/result.js';
import { ReplayGuard } from '../../protocol/envelope/replay.js';
import { open } from '../../protocol/envelope/open.js';
import type { Signer } from '../../protocol/envelope/seal.js';
import type { TrustStore } from '../../protocol/keys/trust.js';
import type { AgentCall, AgentEvent } from '../../protocol/messages/agent.js';
import { RecordIoDecoder } from '../../protocol/recordio.js';
import { leaderBaseFrom } from '../../cli/client/leader.js';
import { KeptAliveClient, readAnswer } from './kept-alive.js';
import { MasterLocator, type MasterLocatorLimits } from './masters.js';

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
  /**
   * Where the masters are: a URL, a comma-separated list of URLs, or `zk://` (see masters.ts).
   * Each subscribe starts from it again; a redirect moves to the leader for that stream.
   */
  readonly masterUrl: string;
  /** Limits of going round the masters (default DEFAULT_MASTER_LOCATOR_LIMITS). */
  readonly locatorLimits?: MasterLocatorLimits;
  readonly signer: Signer;
  /** Master keys only: an event signed by anything else is refused. */
  readonly trust: TrustStore;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  /** Used for every request when given (tests); else the stream uses fetch, calls node:http. */
  readonly fetch?: typeof fetch;
}

/**
 * The HTTP client side of docs/AGENT-CHANNEL.md: signs calls, opens the event stream, verifies
 * every event (signature by a trusted master key, replay window, clock skew, schema), follows
 * 307 redirects to the leader, and goes round the masters (or asks ZooKeeper again) while none
 * leads. No backoff between subscriptions here: that is AgentSession's.
 */
export class AgentChannel {
  /** The base URL of the master of the current (or last) stream; calls go there. */
  private masterBase: string;
  private answered: string | undefined;
  private readonly replay = new ReplayGuard();
  private readonly masters: MasterLocator;
  /** Calls go over kept-alive connections unless a `fetch` was given. */
  private readonly calls: KeptAliveClient | undefined;

  /** Throws on a `masterUrl` that parseMasterLocation refuses (check it at the edge first). */
  constructor(private readonly options: ChannelOptions) {
    const masters = MasterLocator.from(options.masterUrl, {
      ...(options.locatorLimits ? { limits: options.locatorLimits } : {}),
    });
    if (!masters.ok) throw new Error(`bad master location: ${masters.error}`);
    this.masters = masters.value;
    this.masterBase = this.masters.initial;
    this.calls = options.fetch ? undefined : new KeptAliveClient();
  }

  get master(): string {
    return this.masterBase;
  }

  /** Stops following the election (zk://); a subscribe in progress gives up. */
  close(): Promise<void> {
    this.calls?.close();
    return this.masters.close();
  }

  /**
   * Sends REGISTER or REREGISTER and returns the event stream the master answers with. Tries
   * the master of the last stream, then the configured ones (or the leader ZooKeeper names);
   * masters that are unreachable or know no leader are skipped, and after a round without an
   * answer it waits and goes round again, up to the locator's findTimeoutMs.
   */
  async subscribe(call: AgentCall): Promise<Result<Subscription, ChannelError>> {
    const masters = this.masters;
    const deadline = this.options.clock.nowMs() + masters.limits.findTimeoutMs;
    let last: ChannelError = {
      code: 'NO_LEADER',
      message: `no leading master known at ${masters.description}`,
    };
    for (;;) {
      for (const base of masters.candidates(this.answered)) {
        if (masters.isClosed) return err(last);
        const subscribed = await this.subscribeAt(base, call);
        if (subscribed.ok) return subscribed;
        last = subscribed.error;
        if (!RETRYABLE.has(last.code)) return subscribed;
      }
      if (masters.isClosed || this.options.clock.nowMs() + masters.limits.roundRetryMs > deadline)
        return err(last);
      await masters.waitBeforeNextRound();
    }
  }

  private async subscribeAt(
    base: string,
    call: AgentCall,
  ): Promise<Result<Subscription, ChannelError>> {
    if (this.calls) return this.subscribeNode(this.calls, base, call);
    const abort = new AbortController();
    const response = await this.post(base, call, undefined, abort.signal, true);
    if (!response.ok) return response;
    this.masterBase = response.value.base;
    this.answered = response.value.base;
    const streamId = response.value.response.headers.get(STREAM_ID_HEADER);
    const body = response.value.response.body;
    if (!streamId || !body) {
      abort.abort();
      return err({
        code: 'BAD_STREAM',
        message: 'the master answered without a stream id or body',
      });
    }
    const reader = body.getReader();
    return ok({
      streamId,
      events: this.readEvents({ next: () => reader.read() }, abort.signal, () => {
        reader.releaseLock();
        if (!abort.signal.aborted) void body.cancel().catch(() => undefined);
      }),
      close: () => abort.abort(),
    });
  }

  /**
   * Sends HEARTBEAT, STATUS_UPDATE(S) or LOGS on an open stream; ok when the master accepted it
   * (202), with the answer's body (empty but for STATUS_UPDATES with refused updates).
   */
  async send(call: AgentCall, streamId: string): Promise<Result<string, ChannelError>> {
    if (this.calls) return this.sendKeptAlive(this.calls, call, streamId);
    const response = await this.post(
      this.masterBase,
      call,
      streamId,
      AbortSignal.timeout(this.options.requestTimeoutMs),
      false,
    );
    if (!response.ok) return response;
    return ok(await response.value.response.text());
  }

  /**
   * `subscribeAt` over node:http: the same redirects and answers as `post`, and the stream read
   * as a Node stream (node's native HTTP parser, no web streams in between).
   */
  private async subscribeNode(
    calls: KeptAliveClient,
    first: string,
    call: AgentCall,
  ): Promise<Result<Subscription, ChannelError>> {
    const envelope = this.options.signer.seal('agent.call', call);
    const headers = { 'content-type': 'application/cbor', accept: 'application/recordio' };
    let base = first;
    for (let redirects = 0; redirects <= REDIRECTS_MAX; redirects++) {
      const abort = new AbortController();
      let answer;
      try {
        answer = await calls.stream(
          base + AGENT_PATH,
          headers,
          envelope,
          this.options.requestTimeoutMs,
          abort.signal,
        );
      } catch (error) {
        return err({ code: 'UNREACHABLE', message: `${base}: ${describe(error)}` });
      }
      if (answer.status === 307 || answer.status === 308) {
        abort.abort();
        const location = answer.headers.location;
        const next = location ? leaderBaseFrom(location, AGENT_PATH) : undefined;
        if (!next)
          return err({
            code: 'NO_LEADER',
            message: `unusable redirect to ${location ?? '(no Location)'}`,
            status: answer.status,
          });
        base = next;
        continue;
      }
      if (answer.status !== 200) {
        const read = await readAnswer(answer.body).catch(() => undefined);
        abort.abort();
        return err(refusalOf(answer.status, (read?.body ?? '').slice(0, 1000)));
      }
      const streamId = answer.headers[STREAM_ID_HEADER.toLowerCase()];
      if (typeof streamId !== 'string' || streamId === '') {
        abort.abort();
        return err({
          code: 'BAD_STREAM',
          message: 'the master answered without a stream id or body',
        });
      }
      this.masterBase = base;
      this.answered = base;
      return ok({
        streamId,
        events: this.readEvents(answer.body[Symbol.asyncIterator](), abort.signal, () => {
          if (!answer.body.destroyed) answer.body.destroy();
        }),
        close: () => abort.abort(),
      });
    }
    return err({ code: 'REDIRECT_LOOP', message: `more than ${REDIRECTS_MAX} redirects` });
  }

  /** `send` over kept-alive connections: the same redirects and answers as `post`. */
  private async sendKeptAlive(
    calls: KeptAliveClient,
    call: AgentCall,
    streamId: string,
  ): Promise<Result<string, ChannelError>> {
    const envelope = this.options.signer.seal('agent.call', call);
    const headers = {
      'content-type': 'application/cbor',
      accept: 'application/json',
      [STREAM_ID_HEADER]: streamId,
    };
    let base = this.masterBase;
    for (let redirects = 0; redirects <= REDIRECTS_MAX; redirects++) {
      let answer;
      try {
        answer = await calls.post(
          base + AGENT_PATH,
          headers,
          envelope,
          this.options.requestTimeoutMs,
        );
      } catch (error) {
        return err({ code: 'UNREACHABLE', message: `${base}: ${describe(error)}` });
      }
      if (answer.status === 202) return ok(answer.body);
      if (answer.status === 307 || answer.status === 308) {
        const next = answer.location ? leaderBaseFrom(answer.location, AGENT_PATH) : undefined;
        if (!next)
          return err({
            code: 'NO_LEADER',
            message: `unusable redirect to ${answer.location ?? '(no Location)'}`,
            status: answer.status,
          });
        base = next;
        continue;
      }
      return err(refusalOf(answer.status, answer.body.slice(0, 1000)));
    }
    return err({ code: 'REDIRECT_LOOP', message: `more than ${REDIRECTS_MAX} redirects` });
  }

  /** One call to `first`, following redirects; answers with the master that took it. */
  private async post(
    first: string,
    call: AgentCall,
    streamId: string | undefined,
    signal: AbortSignal,
    streaming: boolean,
  ): Promise<Result<{ response: Response; base: string }, ChannelError>> {
    let base = first;
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
        const url = base + AGENT_PATH;
        response = await fetcher(url, {
          method: 'POST',
          headers,
          body: envelope,
          redirect: 'manual',
          signal,
        });
      } catch (error) {
        return err({ code: 'UNREACHABLE', message: `${base}: ${describe(error)}` });
      }
      if (response.status === 307 || response.status === 308) {
        const location = response.headers.get('location');
        await response.body?.cancel();
        if (!location)
          return err({ code: 'NO_LEADER', message: 'redirect without a Location', status: 307 });
        // Masters send absolute Locations; anything else is not followed.
        const next = leaderBaseFrom(location, AGENT_PATH);
        if (!next)
          return err({
            code: 'NO_LEADER',
            message: `unusable redirect to ${location}`,
            status: 307,
          });
        base = next;
        continue;
      }
      if (response.status === (streaming ? 200 : 202)) return ok({ response, base });
      return err(await refusal(response));
    }
    return err({ code: 'REDIRECT_LOOP', message: `more than ${REDIRECTS_MAX} redirects` });
  }

  /**
   * The signed events of a RecordIO stream, from its chunks (a web stream's reader or a Node
   * response, both read as `{ done, value }`); `release` runs when reading stops, either way.
   */
  private async *readEvents(
    chunks: { next(): Promise<IteratorResult<Uint8Array>> },
    signal: AbortSignal,
    release: () => void,
  ): AsyncIterable<AgentEvent> {
    const decoder = new RecordIoDecoder();
    try {
      for (;;) {
        let chunk: IteratorResult<Uint8Array>;
        try {
          chunk = await chunks.next();
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
      release();
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

/** Failures that mean "try another master" rather than "this agent is refused". */
const RETRYABLE: ReadonlySet<ChannelErrorCode> = new Set([
  'UNREACHABLE',
  'NO_LEADER',
  'REDIRECT_LOOP',
]);

async function refusal(response: Response): Promise<ChannelError> {
  const text = (await response.text().catch(() => '')).slice(0, 1000);
  return refusalOf(response.status, text);
}

function refusalOf(status: number, text: string): ChannelError {
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
