import {
  CALLS_IN_FLIGHT_MAX,
  Limiter,
  openSignedStream,
  postSigned,
  type CallAnswer,
} from './limiter.js';
import {
  open,
  RecordIoDecoder,
  ReplayGuard,
  Signer,
  type Identity,
  type MessageBody,
  type MessageType,
  type TrustStore,
} from '../../../protocol/index.js';

/**
 * The verified events of a master's stream (SUBSCRIBE or REGISTER answer), in order: RecordIO
 * records, each an envelope of `type` opened against the master's keys with `replay` (one per
 * stream). Throws on bad framing or a refused event, as a real client drops such a stream.
 */
export async function* masterEvents<T extends MessageType>(
  body: ReadableStream<Uint8Array>,
  masterTrust: TrustStore,
  replay: ReplayGuard,
  type: T,
): AsyncGenerator<MessageBody<T>> {
  const decoder = new RecordIoDecoder();
  const reader = body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    const records = decoder.push(chunk.value);
    if (!records.ok) throw new Error(`bad RecordIO: ${records.error.message}`);
    for (const record of records.value) {
      const opened = open(record, masterTrust, replay, { nowMs: Date.now(), types: [type] });
      if (!opened.ok) throw new Error(`event refused: ${opened.error.message}`);
      if (opened.value.type === type) yield opened.value.body as MessageBody<T>;
    }
  }
}

/** The two signed channels a bench client speaks: where it posts, what it seals, what it reads. */
const channels = {
  scheduler: { path: '/api/v1/scheduler', call: 'scheduler.call', event: 'scheduler.event' },
  agent: { path: '/api/v1/agent', call: 'agent.call', event: 'agent.event' },
} as const;

type Channel = keyof typeof channels;
type CallOf<C extends Channel> = MessageBody<(typeof channels)[C]['call']>;
type EventOf<C extends Channel> = MessageBody<(typeof channels)[C]['event']>;

/**
 * A bench client's end of a signed channel to the master (the bench framework's scheduler API,
 * the simulated agent's agent channel): opens the event stream, reads its verified events, and
 * posts signed calls on it (at most CALLS_IN_FLIGHT_MAX at once, retried on network failures).
 */
export class SignedChannel<C extends Channel> {
  private readonly signer: Signer;
  private readonly calls = new Limiter(CALLS_IN_FLIGHT_MAX);
  private readonly replay = new ReplayGuard();
  private readonly abort = new AbortController();
  private readonly url: string;
  private streamId: string | undefined;

  constructor(
    private readonly channel: C,
    masterUrl: string,
    identity: Identity,
    private readonly masterTrust: TrustStore,
  ) {
    this.signer = new Signer(identity);
    this.url = `${masterUrl}${channels[channel].path}`;
  }

  private seal(call: CallOf<C>): Uint8Array {
    return this.signer.seal(channels[this.channel].call, call);
  }

  /**
   * Opens the stream with `call` (SUBSCRIBE, REGISTER); returns its verified events. Throws
   * with the master's answer when the stream is refused.
   */
  async open(call: CallOf<C>): Promise<AsyncGenerator<EventOf<C>>> {
    const response = await openSignedStream({
      url: this.url,
      body: this.seal(call),
      streamId: undefined,
      signal: this.abort.signal,
    });
    if (response.status !== 200 || !response.body)
      throw new Error(`${call.type} answered ${response.status}: ${await response.text()}`);
    this.streamId = response.headers.get('mesos-stream-id') ?? undefined;
    return masterEvents<(typeof channels)[C]['event']>(
      response.body,
      this.masterTrust,
      this.replay,
      channels[this.channel].event,
    );
  }

  /** A call on the open stream. */
  post(call: CallOf<C>): Promise<CallAnswer> {
    return postSigned(this.calls, {
      url: this.url,
      body: this.seal(call),
      streamId: this.streamId,
    });
  }

  /** Ends the stream from this side. */
  close(): void {
    this.abort.abort();
  }

  /** Whether this side ended the stream (its failure then is no error). */
  get closed(): boolean {
    return this.abort.signal.aborted;
  }
}
