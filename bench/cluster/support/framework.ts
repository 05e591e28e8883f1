import { performance } from 'node:perf_hooks';
import type { CallAnswer } from './limiter.js';
import {
  terminalTaskStates,
  type Identity,
  type Offer,
  type Resource,
  type SchedulerCall,
  type SchedulerEvent,
  type TaskStatus,
  type TrustStore,
  type WasmInfo,
} from '../../../protocol/index.js';
import { SignedChannel } from './signed-channel.js';

export interface BenchFrameworkOptions {
  readonly url: string;
  readonly identity: Identity;
  /** The master's key: every event is opened and verified against it. */
  readonly masterTrust: TrustStore;
  /** What each task asks for. */
  readonly taskCpus: number;
  readonly taskMemMiB: number;
  /** The wasm field of every task (the agents of the offers bench never run it). */
  readonly wasm: WasmInfo;
}

/**
 * A framework for benches, speaking the signed-CBOR scheduler API over HTTP: tasks submitted to
 * it wait in a queue; every offer is kept until tasks can use it, then accepted with as many
 * queued tasks as fit; every status update is acknowledged. Times (performance.now) are kept
 * per task: submitted, RUNNING seen, terminal update acknowledged.
 */
export class BenchFramework {
  frameworkId: string | undefined;
  offersReceived = 0;
  acceptCalls = 0;
  launched = 0;
  /** Terminal updates whose acknowledgement the master accepted. */
  ended = 0;
  failedTasks = 0;
  /** UPDATE events carrying a uuid seen before: resent by an agent whose update was not yet acknowledged. */
  duplicateUpdates = 0;
  private readonly seenUuids = new Set<string>();
  readonly errors: string[] = [];
  readonly submittedAt = new Map<string, number>();
  readonly runningAt = new Map<string, number>();
  readonly endedAt = new Map<string, number>();
  private readonly channel: SignedChannel<'scheduler'>;
  private readonly pending: string[] = [];
  private readonly held = new Map<string, Offer>();
  private readonly taskMilliCpus: number;

  constructor(private readonly options: BenchFrameworkOptions) {
    this.channel = new SignedChannel(
      'scheduler',
      options.url,
      options.identity,
      options.masterTrust,
    );
    this.taskMilliCpus = Math.round(options.taskCpus * 1000);
  }

  private post(call: SchedulerCall): Promise<CallAnswer> {
    return this.channel.post(call);
  }

  /** SUBSCRIBE; resolves once SUBSCRIBED arrived. */
  async subscribe(): Promise<void> {
    const events = await this.channel.open({
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: { user: 'bench', name: 'bench framework', failover_timeout: 0 },
      },
    });
    const subscribed = new Promise<void>((resolve, reject) => {
      void this.read(events, resolve, reject);
    });
    await subscribed;
  }

  close(): void {
    this.channel.close();
  }

  /** Queues a task; it is launched on the next offer it fits in. */
  submit(taskId: string): void {
    this.submittedAt.set(taskId, performance.now());
    this.pending.push(taskId);
    this.launchOnHeldOffers();
  }

  /** One line for a long run's progress output. */
  progress(): string {
    return `offers ${this.offersReceived} (held ${this.held.size}), launched ${this.launched}, waiting ${this.pending.length}, running ${this.runningAt.size}, ended ${this.ended}, errors ${this.errors.length}${this.errors.length > 0 ? ` (last: ${this.errors.at(-1)})` : ''}`;
  }

  get waiting(): number {
    return this.pending.length;
  }

  private async read(
    events: AsyncIterable<SchedulerEvent>,
    subscribed: () => void,
    failed: (error: Error) => void,
  ): Promise<void> {
    try {
      for await (const event of events) {
        if (event.type === 'SUBSCRIBED') {
          this.frameworkId = event.subscribed.framework_id.value;
          subscribed();
        }
        this.receive(event);
      }
      failed(new Error('the event stream ended'));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (!this.channel.closed) this.errors.push(`stream: ${failure.message}`);
      failed(failure);
    }
  }

  private receive(event: SchedulerEvent): void {
    switch (event.type) {
      case 'OFFERS':
        this.offersReceived += event.offers.offers.length;
        for (const offer of event.offers.offers) this.held.set(offer.id.value, offer);
        this.launchOnHeldOffers();
        return;
      case 'RESCIND':
        this.held.delete(event.rescind.offer_id.value);
        return;
      case 'UPDATE':
        this.onUpdate(event.update.status);
        return;
      case 'ERROR':
        this.errors.push(`ERROR event: ${event.error.message}`);
        return;
      default:
        return;
    }
  }

  private onUpdate(status: TaskStatus): void {
    const taskId = status.task_id.value;
    if (status.uuid) {
      if (this.seenUuids.has(status.uuid)) this.duplicateUpdates++;
      else this.seenUuids.add(status.uuid);
    }
    if (status.state === 'TASK_RUNNING' && !this.runningAt.has(taskId))
      this.runningAt.set(taskId, performance.now());
    const terminal = terminalTaskStates.has(status.state);
    if (terminal && status.state !== 'TASK_FINISHED') {
      this.failedTasks++;
      if (this.errors.length < 20)
        this.errors.push(
          `${taskId}: ${status.state} ${status.reason ?? ''} ${status.message ?? ''}`,
        );
    }
    if (!status.uuid || !status.agent_id || !this.frameworkId) {
      if (terminal) this.markEnded(taskId);
      return;
    }
    void this.post({
      type: 'ACKNOWLEDGE',
      framework_id: { value: this.frameworkId },
      acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
    }).then(
      (response) => {
        if (response.status !== 202) this.errors.push(`ACKNOWLEDGE answered ${response.status}`);
        else if (terminal) this.markEnded(taskId);
      },
      (error: unknown) => this.errors.push(`ACKNOWLEDGE failed: ${String(error)}`),
    );
  }

  private markEnded(taskId: string): void {
    if (this.endedAt.has(taskId)) return;
    this.endedAt.set(taskId, performance.now());
    this.ended++;
  }

  /**
   * Accepts the held offers with as many queued tasks as fit: all of an agent's held offers in
   * one ACCEPT (Mesos pools offers of one agent), so resources freed a few at a time (each a
   * small offer) still launch tasks together.
   */
  private launchOnHeldOffers(): void {
    if (!this.frameworkId || this.pending.length === 0 || this.held.size === 0) return;
    const byAgent = new Map<string, Offer[]>();
    for (const offer of this.held.values()) {
      const offers = byAgent.get(offer.agent_id.value);
      if (offers) offers.push(offer);
      else byAgent.set(offer.agent_id.value, [offer]);
    }
    for (const offers of byAgent.values()) {
      if (this.pending.length === 0) return;
      const fit = Math.min(
        this.pending.length,
        this.tasksFitting(offers.flatMap((offer) => offer.resources)),
      );
      if (fit === 0) continue;
      for (const offer of offers) this.held.delete(offer.id.value);
      this.accept(offers, this.pending.splice(0, fit));
    }
  }

  private tasksFitting(resources: readonly Resource[]): number {
    let milliCpus = 0;
    let memMiB = 0;
    for (const resource of resources) {
      if (resource.name === 'cpus') milliCpus += Math.round((resource.scalar?.value ?? 0) * 1000);
      if (resource.name === 'mem') memMiB += resource.scalar?.value ?? 0;
    }
    return Math.min(
      Math.floor(milliCpus / this.taskMilliCpus),
      Math.floor(memMiB / this.options.taskMemMiB),
    );
  }

  private accept(offers: readonly Offer[], taskIds: string[]): void {
    const agentId = offers[0]!.agent_id;
    const resources: Resource[] = [
      { name: 'cpus', type: 'SCALAR', scalar: { value: this.options.taskCpus } },
      { name: 'mem', type: 'SCALAR', scalar: { value: this.options.taskMemMiB } },
    ];
    this.acceptCalls++;
    this.launched += taskIds.length;
    void this.post({
      type: 'ACCEPT',
      framework_id: { value: this.frameworkId! },
      accept: {
        offer_ids: offers.map((offer) => offer.id),
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: taskIds.map((taskId) => ({
                name: 'bench',
                task_id: { value: taskId },
                agent_id: agentId,
                resources,
                wasm: this.options.wasm,
              })),
            },
          },
        ],
        filters: { refuse_seconds: 0 },
      },
    }).then(
      (response) => {
        if (response.status === 202) return;
        this.errors.push(`ACCEPT answered ${response.status}: ${response.text.slice(0, 200)}`);
        this.requeue(taskIds);
      },
      (error: unknown) => {
        this.errors.push(`ACCEPT failed: ${String(error)}`);
        this.requeue(taskIds);
      },
    );
  }

  private requeue(taskIds: string[]): void {
    this.launched -= taskIds.length;
    this.pending.unshift(...taskIds);
  }
}
