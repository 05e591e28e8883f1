import {
  ReplayGuard,
  Signer,
  type AgentCall,
  type AgentEvent,
  type Identity,
  type TrustStore,
} from '../../../protocol/index.js';
import { openMasterEvent, readRecords } from '../../support/signed-stream.js';

export const AGENT_URL_PATH = '/api/v1/agent';

/**
 * A hand-driven agent for route tests: signs exactly the calls a test wants, posts raw bytes
 * (to replay or corrupt them), and reads and verifies the event stream the master answers with.
 */
export class RawAgent {
  readonly signer: Signer;
  readonly events: AgentEvent[] = [];
  streamId: string | undefined;
  ended = false;
  /** Why reading the stream failed (an invalid record or event), unless this side aborted. */
  failure: unknown;
  private readonly replay = new ReplayGuard();
  private abort = new AbortController();

  constructor(
    private readonly url: string,
    identity: Identity,
    private readonly masterTrust: TrustStore,
  ) {
    this.signer = new Signer(identity);
  }

  seal(call: AgentCall): Uint8Array {
    return this.signer.seal('agent.call', call);
  }

  post(
    body: Uint8Array,
    streamId?: string,
    contentType = 'application/cbor',
    signal?: AbortSignal,
  ): Promise<Response> {
    return fetch(this.url + AGENT_URL_PATH, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        ...(streamId === undefined ? {} : { 'mesos-stream-id': streamId }),
      },
      body,
      ...(signal ? { signal } : {}),
    });
  }

  /** A call on the open stream; the answer's body is drained. */
  async call(call: AgentCall, streamId = this.streamId): Promise<Response> {
    const response = await this.post(this.seal(call), streamId);
    await response.text();
    return response;
  }

  /** REGISTER/REREGISTER; events are read in the background into `events`. */
  async subscribe(call: AgentCall): Promise<Response> {
    this.abort = new AbortController();
    const response = await this.post(this.seal(call), undefined, undefined, this.abort.signal);
    if (response.status !== 200) return response;
    this.streamId = response.headers.get('mesos-stream-id') ?? undefined;
    this.ended = false;
    void this.read(response.body!);
    return response;
  }

  /** Drops the stream from this side, as a crashed agent or a broken network would. */
  disconnect(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      await readRecords(body, (record) =>
        this.events.push(openMasterEvent(record, this.masterTrust, this.replay, 'agent.event')),
      );
    } catch (error) {
      if (!this.abort.signal.aborted) this.failure = error;
    } finally {
      this.ended = true;
    }
  }
}
