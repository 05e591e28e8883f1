import * as assert from 'uvu/assert';
import {
  ReplayGuard,
  Signer,
  type Identity,
  type Offer,
  type SchedulerCall,
  type SchedulerEvent,
  type TaskInfo,
  type TaskStatus,
  type TrustStore,
} from '../../../protocol/index.js';
import { openMasterEvent, readRecords } from '../../support/signed-stream.js';
import { until } from '../../support/until.js';

/**
 * A framework speaking the scheduler API over real HTTP with signed CBOR, the way a wasmos
 * framework would: subscribes (again, with its id, after the master restarts), launches on the
 * offers it is sent, records every status update and acknowledges those that carry a uuid.
 */
export class HttpFramework {
  readonly events: SchedulerEvent[] = [];
  readonly updates: TaskStatus[] = [];
  frameworkId: string | undefined;
  streamId: string | undefined;
  ended = true;
  /** Acknowledge each update as it arrives (off: the test acknowledges, e.g. late). */
  autoAcknowledge = true;
  private readonly signer: Signer;
  private readonly replay = new ReplayGuard();
  private abort = new AbortController();
  private readonly usedOffers = new Set<string>();

  constructor(
    public url: string,
    identity: Identity,
    private readonly masterTrust: TrustStore,
  ) {
    this.signer = new Signer(identity);
  }

  private post(call: SchedulerCall, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: {
        'content-type': 'application/cbor',
        ...(this.streamId && call.type !== 'SUBSCRIBE' ? { 'mesos-stream-id': this.streamId } : {}),
      },
      body: this.signer.seal('scheduler.call', call),
      ...(signal ? { signal } : {}),
    });
  }

  /** SUBSCRIBE (with the framework id once it has one), retried until the master answers. */
  async subscribe(): Promise<void> {
    await until(async () => {
      this.abort = new AbortController();
      let response: Response;
      try {
        response = await this.post(
          {
            type: 'SUBSCRIBE',
            ...(this.frameworkId ? { framework_id: { value: this.frameworkId } } : {}),
            subscribe: {
              framework_info: {
                user: 'e2e',
                name: 'e2e framework',
                failover_timeout: 3600,
                capabilities: [{ type: 'PARTITION_AWARE' }],
                ...(this.frameworkId ? { id: { value: this.frameworkId } } : {}),
              },
            },
          },
          this.abort.signal,
        );
      } catch {
        return false; // the master is not listening (yet)
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        return false;
      }
      this.streamId = response.headers.get('mesos-stream-id') ?? undefined;
      this.ended = false;
      const seen = this.events.length;
      void this.read(response.body!);
      const subscribed = await until(
        () => this.events.slice(seen).find((event) => event.type === 'SUBSCRIBED') ?? this.ended,
        'SUBSCRIBED',
      );
      if (subscribed === true) return false;
      if (subscribed.type === 'SUBSCRIBED')
        this.frameworkId = subscribed.subscribed.framework_id.value;
      return true;
    }, 'the framework to subscribe');
  }

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      await readRecords(body, (record) =>
        this.receive(openMasterEvent(record, this.masterTrust, this.replay, 'scheduler.event')),
      );
    } catch {
      // The stream broke (master gone, or closed here): the test resubscribes when it needs to.
    } finally {
      this.ended = true;
    }
  }

  private receive(event: SchedulerEvent): void {
    if (event.type === 'SUBSCRIBED') {
      // Offers of an earlier subscription are void.
      for (const earlier of this.events)
        if (earlier.type === 'OFFERS')
          for (const offer of earlier.offers.offers) this.usedOffers.add(offer.id.value);
    }
    if (event.type === 'RESCIND') this.usedOffers.add(event.rescind.offer_id.value);
    this.events.push(event);
    if (event.type !== 'UPDATE') return;
    const status = event.update.status;
    this.updates.push(status);
    if (this.autoAcknowledge && status.uuid) void this.acknowledge(status);
  }

  async acknowledge(status: TaskStatus): Promise<number> {
    if (!this.frameworkId || !status.uuid || !status.agent_id) return 0;
    try {
      const response = await this.post({
        type: 'ACKNOWLEDGE',
        framework_id: { value: this.frameworkId },
        acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
      });
      await response.body?.cancel();
      return response.status;
    } catch {
      return 0; // the master went away; the agent will resend the update
    }
  }

  /**
   * Waits for an offer not used yet (and `wanted`, if given) and launches one task on it;
   * returns the agent id.
   */
  async launch(
    task: (offer: Offer) => TaskInfo,
    wanted: (offer: Offer) => boolean = () => true,
  ): Promise<string> {
    const offer = await until(() => {
      for (const event of this.events) {
        if (event.type !== 'OFFERS') continue;
        const fresh = event.offers.offers.find(
          (each) => !this.usedOffers.has(each.id.value) && wanted(each),
        );
        if (fresh) return fresh;
      }
      return undefined;
    }, 'an offer');
    this.usedOffers.add(offer.id.value);
    const response = await this.post({
      type: 'ACCEPT',
      framework_id: { value: this.frameworkId! },
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: 'LAUNCH', launch: { task_infos: [task(offer)] } }],
        filters: { refuse_seconds: 0 },
      },
    });
    const text = await response.text();
    assert.is(response.status, 202, text);
    return offer.agent_id.value;
  }

  updatesOf(taskId: string): TaskStatus[] {
    return this.updates.filter((status) => status.task_id.value === taskId);
  }
}
