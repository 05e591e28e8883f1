import { assert } from '../../../lib/assert.js';
import type {
  AgentMessage,
  FrameworkEvent,
  Ready,
  TaskLaunch,
} from '../../../master/core/messages.js';
import { MasterCore, type MasterCoreOptions } from '../../../master/core/master.js';
import type { Registry } from '../../../master/core/registry.js';
import { Resources } from '../../../master/core/resources.js';

/** Drives a MasterCore like its shell would, recording every batch it produced. */
export class MasterHarness {
  core: MasterCore;
  nowMs = 0;
  readonly batches: Ready[] = [];
  registry: Registry | undefined;

  constructor(readonly options: Partial<MasterCoreOptions> = {}) {
    this.core = this.boot(undefined);
  }

  boot(registry: Registry | undefined): MasterCore {
    const created = MasterCore.create(
      { masterId: 'm1', seed: 1, checkInvariants: true, ...this.options },
      registry,
      this.nowMs,
    );
    assert(created.ok, 'core options are valid');
    this.core = created.value;
    return this.core;
  }

  /** Steps, then carries out the batch: persist (remembered), deliver (recorded), advance. */
  step(input: Parameters<MasterCore['step']>[0]): ReturnType<MasterCore['step']> {
    const result = this.core.step(input, this.nowMs);
    this.flush();
    return result;
  }

  flush(): Ready | undefined {
    if (!this.core.hasReady()) return undefined;
    const ready = this.core.ready();
    if (ready.persist) this.registry = ready.persist;
    this.batches.push(ready);
    this.core.advance();
    return ready;
  }

  tick(deltaMs = 0): void {
    this.nowMs += deltaMs;
    this.step({ kind: 'tick' });
  }

  eventsFor(frameworkId: string): FrameworkEvent[] {
    return this.batches.flatMap((batch) =>
      batch.toFrameworks
        .filter((delivery) => delivery.frameworkId === frameworkId)
        .map((delivery) => delivery.event),
    );
  }

  messagesFor(agentId: string): AgentMessage[] {
    return this.batches.flatMap((batch) =>
      batch.toAgents
        .filter((delivery) => delivery.agentId === agentId)
        .map((delivery) => delivery.message),
    );
  }

  register(
    hostname = 'h1',
    resources = Resources.of({ cpus: 4, mem: 4096 }),
    runtimes: ('wasm' | 'linux')[] = ['wasm'],
  ): string {
    const result = this.step({
      kind: 'registerAgent',
      keyId: `key-${hostname}`,
      agent: { hostname, resources, runtimes, attributes: { zone: 'edge-1' } },
    });
    assert(result.ok && result.value.kind === 'agentRegistered', 'agent registers');
    return result.value.agentId;
  }

  subscribe(
    streamId = 's1',
    extra: { partitionAware?: boolean; failoverTimeoutMs?: number; id?: string } = {},
  ): string {
    const result = this.step({
      kind: 'subscribe',
      streamId,
      framework: {
        name: 'fw',
        role: 'default',
        user: 'u',
        principal: 'p',
        failoverTimeoutMs: extra.failoverTimeoutMs ?? 10_000,
        partitionAware: extra.partitionAware ?? true,
        ...(extra.id !== undefined && { id: extra.id }),
      },
    });
    assert(result.ok && result.value.kind === 'subscribed', 'framework subscribes');
    return result.value.frameworkId;
  }

  /** The offer ids most recently sent to the framework. */
  lastOffers(frameworkId: string): { id: string; agentId: string; resources: Resources }[] {
    const events = this.eventsFor(frameworkId).filter((event) => event.type === 'offers');
    const last = events[events.length - 1];
    return last && last.type === 'offers' ? [...last.offers] : [];
  }

  launch(
    frameworkId: string,
    streamId: string,
    offerId: string,
    tasks: Partial<TaskLaunch>[],
  ): ReturnType<MasterCore['step']> {
    return this.step({
      kind: 'accept',
      frameworkId,
      streamId,
      offerIds: [offerId],
      launches: tasks.map((task, index) => ({
        taskId: `t${index}`,
        name: 'task',
        resources: Resources.of({ cpus: 1, mem: 128 }),
        runtime: 'wasm',
        payload: { digest: 'sha256:x' },
        ...task,
      })),
    });
  }
}
