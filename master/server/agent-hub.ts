import type { Cancel } from '../../lib/clock.js';
import { err, ok, type Result } from '../../lib/result.js';
import { agentBatchLimits, type Acknowledgement, type AgentEvent } from '../../protocol/index.js';
import type { AgentMessage } from '../core/messages.js';
import { EventStream } from '../http/event-stream.js';
import { agentEventOf } from './agent-codec.js';
import {
  AgentLogBroker,
  DEFAULT_LOG_BROKER_LIMITS,
  type LogBrokerLimits,
  type LogChunk,
  type LogsError,
  type LogsRequest,
} from './agent-logs.js';
import type { MasterContext } from './context.js';
import type { Sink } from './streams.js';

/**
 * The agent side of a master's connections: one open event stream per agent (a newer one
 * replaces the older), found by its Mesos-Stream-Id for the calls that follow, plus the logs
 * broker that uses those streams. One hub per MasterContext (see `agentHubOf`), so the agent
 * routes and the operator routes share it without the context knowing about it.
 */
export class AgentConnection implements Sink<AgentMessage> {
  readonly stream: EventStream;
  private cancelHeartbeat: Cancel | undefined;
  /** Set once the agent sent STATUS_UPDATES here: it reads ACKNOWLEDGE_UPDATES too. */
  private batchedAcknowledgements = false;
  /** Acknowledgements of this turn, sent as one ACKNOWLEDGE_UPDATES before anything else. */
  private acknowledgements: Acknowledgement[] = [];

  constructor(
    private readonly hub: AgentHub,
    readonly agentId: string,
    /** The key that opened the stream: calls on it must be signed by the same key. */
    readonly keyId: string,
    recordsQueuedMax: number,
  ) {
    this.stream = new EventStream(recordsQueuedMax);
  }

  get streamId(): string {
    return this.stream.id;
  }

  takesBatchedAcknowledgements(): void {
    this.batchedAcknowledgements = true;
  }

  /**
   * A core message: mapped to the wire event and sealed. Acknowledgements to an agent that reads
   * ACKNOWLEDGE_UPDATES are held until the end of this turn (or until
   * `acknowledgementsPerEventMax` are held, or another event is sent: order is kept) and go out
   * as one signed record.
   */
  send(message: AgentMessage): void {
    if (message.type === 'acknowledgeUpdate' && this.batchedAcknowledgements) {
      if (!this.stream.isOpen) return;
      if (this.acknowledgements.length === 0) queueMicrotask(() => this.flushAcknowledgements());
      this.acknowledgements.push({
        framework_id: { value: message.frameworkId },
        task_id: { value: message.taskId },
        uuid: message.uuid,
      });
      if (this.acknowledgements.length >= agentBatchLimits.acknowledgementsPerEventMax)
        this.flushAcknowledgements();
      return;
    }
    const event = agentEventOf(this.agentId, message);
    if (!event) return;
    if (!event.ok) {
      this.hub.ctx.log.error('an agent message could not be mapped', {
        agentId: this.agentId,
        error: event.error,
      });
      return;
    }
    this.sendEvent(event.value);
  }

  /** Signs and queues an event; false when the stream is closed (or was just cut for overflow). */
  sendEvent(event: AgentEvent): boolean {
    this.flushAcknowledgements();
    return this.seal(event);
  }

  private flushAcknowledgements(): void {
    if (this.acknowledgements.length === 0) return;
    const acknowledgements = this.acknowledgements;
    this.acknowledgements = [];
    this.seal(
      acknowledgements.length === 1
        ? { type: 'ACKNOWLEDGE_UPDATE', acknowledge_update: acknowledgements[0]! }
        : { type: 'ACKNOWLEDGE_UPDATES', acknowledge_updates: { acknowledgements } },
    );
  }

  private seal(event: AgentEvent): boolean {
    if (!this.stream.isOpen) return false;
    let sealed: Uint8Array;
    try {
      sealed = this.hub.ctx.signer.seal('agent.event', event);
    } catch (error) {
      // A bug on our side (an event that fails its own schema): drop it, keep the stream.
      this.hub.ctx.log.error('an agent event could not be sealed', {
        agentId: this.agentId,
        type: event.type,
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
    return this.stream.send(sealed) === 'sent';
  }

  close(): void {
    this.flushAcknowledgements();
    this.stream.close();
  }

  /** HEARTBEAT events keep the agent's silence watchdog quiet; none when the interval is 0. */
  startHeartbeats(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const beat = (): void => {
      if (!this.stream.isOpen) return;
      this.sendEvent({ type: 'HEARTBEAT' });
      this.cancelHeartbeat = this.hub.ctx.clock.after(intervalMs, beat);
    };
    this.cancelHeartbeat = this.hub.ctx.clock.after(intervalMs, beat);
  }

  stopHeartbeats(): void {
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = undefined;
  }
}

export class AgentHub {
  private readonly byStream = new Map<string, AgentConnection>();
  private readonly byAgent = new Map<string, AgentConnection>();
  readonly logs: AgentLogBroker;

  constructor(
    readonly ctx: MasterContext,
    logLimits: LogBrokerLimits = DEFAULT_LOG_BROKER_LIMITS,
  ) {
    this.logs = new AgentLogBroker(
      (agentId, event) => this.byAgent.get(agentId)?.sendEvent(event) ?? false,
      ctx.clock,
      logLimits,
    );
  }

  /** Open agent streams (at most one per admitted agent, so bounded by the core's agentsMax). */
  get connections(): number {
    return this.byStream.size;
  }

  /**
   * A new stream for an agent. It becomes the agent's current stream at once (the previous one is
   * closed), so what the core sends the agent from now on is queued on it, even before the HTTP
   * answer carrying it goes out.
   */
  open(agentId: string, keyId: string): AgentConnection {
    const connection = new AgentConnection(
      this,
      agentId,
      keyId,
      this.ctx.limits.streamRecordsQueuedMax,
    );
    this.byStream.set(connection.streamId, connection);
    // Ours first, then the table's: the old stream's close handler must see it is no longer current.
    this.byAgent.set(agentId, connection);
    this.ctx.streams.setAgent(agentId, connection);
    connection.stream.onClose(() => this.closed(connection));
    return connection;
  }

  /** The open stream with this id, if any. */
  find(streamId: string): AgentConnection | undefined {
    return this.byStream.get(streamId);
  }

  isCurrent(connection: AgentConnection): boolean {
    return this.byAgent.get(connection.agentId) === connection;
  }

  private closed(connection: AgentConnection): void {
    connection.stopHeartbeats();
    this.byStream.delete(connection.streamId);
    this.ctx.streams.removeAgent(connection.agentId, connection);
    if (!this.isCurrent(connection)) return; // replaced by a newer stream: nothing changed
    this.byAgent.delete(connection.agentId);
    this.logs.agentDisconnected(connection.agentId);
    this.ctx.driver.notify({ kind: 'agentDisconnected', agentId: connection.agentId });
  }
}

const hubs = new WeakMap<MasterContext, AgentHub>();

/** The hub of this master context (made on first use). */
export function agentHubOf(ctx: MasterContext): AgentHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = new AgentHub(ctx);
    hubs.set(ctx, hub);
  }
  return hub;
}

/**
 * For `GET /api/v1/tasks/:id/logs`: a chunk of a task's stdout or stderr from the agent that
 * runs (or ran) it. Resolves with the agent's answer or a LogsError (not connected, timeout,
 * too many outstanding requests, invalid length); never throws. The route finds the task's
 * agent and framework (e.g. with `findTaskForLogs`) and maps errors to HTTP (suggested:
 * AGENT_NOT_CONNECTED/AGENT_DISCONNECTED 503, TIMEOUT 504, TOO_MANY_REQUESTS 429, INVALID 400).
 */
export function requestTaskLogs(
  ctx: MasterContext,
  request: LogsRequest,
): Promise<Result<LogChunk, LogsError>> {
  return agentHubOf(ctx).logs.request(request);
}

/**
 * Where a task runs or ran, from the master's view: its agent and framework. Task ids are unique
 * within a framework; without `frameworkId` an id used by two frameworks is ambiguous (error).
 */
export function findTaskForLogs(
  ctx: MasterContext,
  taskId: string,
  frameworkId?: string,
): Result<{ agentId: string; frameworkId: string }, string> {
  const found: { agentId: string; frameworkId: string }[] = [];
  for (const framework of ctx.driver.view().frameworks.values()) {
    if (frameworkId !== undefined && framework.id !== frameworkId) continue;
    const task =
      framework.tasks.get(taskId) ?? framework.completed.findLast((done) => done.id === taskId);
    if (task) found.push({ agentId: task.agentId, frameworkId: framework.id });
  }
  if (found.length === 1) return ok(found[0]!);
  return err(
    found.length === 0
      ? `task ${taskId} is not known to this master`
      : `task id ${taskId} is used by several frameworks; name the framework`,
  );
}
