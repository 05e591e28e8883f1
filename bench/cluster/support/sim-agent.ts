import { randomBytes } from 'node:crypto';
import type { CallAnswer } from './limiter.js';
import type {
  AgentCall,
  AgentEvent,
  Identity,
  TaskState,
  TrustStore,
} from '../../../protocol/index.js';
import { SignedChannel } from './signed-channel.js';

export interface SimAgentOptions {
  readonly url: string;
  readonly identity: Identity;
  readonly masterTrust: TrustStore;
  readonly hostname: string;
  readonly cpus: number;
  readonly memMiB: number;
}

/**
 * A simulated agent on the real agent channel (signed REGISTER stream, signed calls): it runs
 * nothing. Each LAUNCH is answered with RUNNING; once the framework's acknowledgement of an
 * update comes back (ACKNOWLEDGE_UPDATE), the next one (FINISHED) is sent, as a real agent keeps
 * one unacknowledged update per task. Heartbeats at the interval the master asks for.
 */
export class SimAgent {
  agentId: string | undefined;
  launches = 0;
  updatesSent = 0;
  readonly errors: string[] = [];
  private readonly channel: SignedChannel<'agent'>;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Per task: the uuid awaiting acknowledgement, and what to send after it. */
  private readonly awaiting = new Map<
    string,
    { uuid: string; frameworkId: string; state: TaskState }
  >();

  constructor(private readonly options: SimAgentOptions) {
    this.channel = new SignedChannel('agent', options.url, options.identity, options.masterTrust);
  }

  private post(call: AgentCall): Promise<CallAnswer> {
    return this.channel.post(call);
  }

  /** Registers; resolves once REGISTERED arrived (events keep being handled afterwards). */
  async start(): Promise<void> {
    const scalar = (name: string, value: number) => ({
      name,
      type: 'SCALAR' as const,
      scalar: { value },
    });
    const events = await this.channel.open({
      type: 'REGISTER',
      register: {
        agent_info: {
          hostname: this.options.hostname,
          resources: [
            scalar('cpus', this.options.cpus),
            scalar('mem', this.options.memMiB),
            scalar('disk', 10_000),
          ],
          attributes: [],
          runtimes: ['wasm'],
          version: 'bench',
        },
      },
    });
    const first = await events.next();
    if (first.done || first.value.type !== 'REGISTERED')
      throw new Error('the agent stream did not start with REGISTERED');
    this.agentId = first.value.registered.agent_id.value;
    const intervalMs = first.value.registered.heartbeat_interval_seconds * 1000;
    this.heartbeat = setInterval(
      () =>
        this.call({
          type: 'HEARTBEAT',
          heartbeat: { agent_id: { value: this.agentId! } },
        }),
      intervalMs,
    );
    void this.handle(events);
  }

  stop(): void {
    clearInterval(this.heartbeat);
    this.channel.close();
  }

  private async handle(events: AsyncIterator<AgentEvent>): Promise<void> {
    try {
      for (let next = await events.next(); !next.done; next = await events.next())
        this.onEvent(next.value);
    } catch (error) {
      if (!this.channel.closed) this.errors.push(`stream: ${String(error)}`);
    }
  }

  private onEvent(event: AgentEvent): void {
    if (event.type === 'LAUNCH') {
      this.launches++;
      this.update(event.launch.framework_id.value, event.launch.task.task_id.value, 'TASK_RUNNING');
    } else if (event.type === 'ACKNOWLEDGE_UPDATE') {
      const taskId = event.acknowledge_update.task_id.value;
      const awaited = this.awaiting.get(taskId);
      if (!awaited || awaited.uuid !== event.acknowledge_update.uuid) return;
      this.awaiting.delete(taskId);
      if (awaited.state === 'TASK_RUNNING')
        this.update(awaited.frameworkId, taskId, 'TASK_FINISHED');
    } else if (event.type === 'KILL') {
      const { framework_id, task_id } = event.kill;
      this.update(framework_id.value, task_id.value, 'TASK_KILLED');
    }
  }

  private update(frameworkId: string, taskId: string, state: TaskState): void {
    const uuid = randomBytes(16).toString('base64');
    this.awaiting.set(taskId, { uuid, frameworkId, state });
    this.updatesSent++;
    this.call({
      type: 'STATUS_UPDATE',
      status_update: {
        update: {
          framework_id: { value: frameworkId },
          agent_id: { value: this.agentId! },
          status: {
            task_id: { value: taskId },
            state,
            uuid,
            source: 'SOURCE_EXECUTOR',
            agent_id: { value: this.agentId! },
            timestamp: Date.now() / 1000,
            ...(state === 'TASK_FINISHED' ? { exit_code: 0 } : {}),
          },
        },
      },
    });
  }

  private call(call: AgentCall): void {
    void this.post(call).then(
      (response) => {
        if (response.status !== 202 && this.errors.length < 20)
          this.errors.push(
            `${call.type} answered ${response.status}: ${response.text.slice(0, 200)}`,
          );
      },
      (error: unknown) => {
        if (this.errors.length < 20) this.errors.push(`${call.type} failed: ${String(error)}`);
      },
    );
  }
}
