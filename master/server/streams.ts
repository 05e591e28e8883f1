import type {
  AgentDelivery,
  AgentMessage,
  FrameworkDelivery,
  FrameworkEvent,
} from '../core/messages.js';
import type { Outlets } from './driver.js';

/** Something that carries events to one connected party: an HTTP event stream, or an in-process framework. */
export interface Sink<T> {
  send(message: T): void;
  close(): void;
}

/**
 * Who is connected right now: framework event streams by stream id, agent event streams by agent
 * id. The driver delivers through it (it is the driver's Outlets); the routes add and remove
 * sinks as connections open and close. A message for a party with no open sink is dropped: the
 * protocol's retries and reconciliation recover it, as with any disconnect.
 */
export class StreamTable implements Outlets {
  private readonly frameworks = new Map<string, Sink<FrameworkEvent>>();
  private readonly agents = new Map<string, Sink<AgentMessage>>();

  addFramework(streamId: string, sink: Sink<FrameworkEvent>): void {
    this.frameworks.get(streamId)?.close();
    this.frameworks.set(streamId, sink);
  }

  /** Removes the sink only if it is still the current one for the stream. */
  removeFramework(streamId: string, sink: Sink<FrameworkEvent>): void {
    if (this.frameworks.get(streamId) === sink) this.frameworks.delete(streamId);
  }

  /** An agent has one stream; a new connection replaces (and closes) the old one. */
  setAgent(agentId: string, sink: Sink<AgentMessage>): void {
    const previous = this.agents.get(agentId);
    this.agents.set(agentId, sink);
    if (previous && previous !== sink) previous.close();
  }

  removeAgent(agentId: string, sink: Sink<AgentMessage>): void {
    if (this.agents.get(agentId) === sink) this.agents.delete(agentId);
  }

  hasAgent(agentId: string): boolean {
    return this.agents.has(agentId);
  }

  toAgent(delivery: AgentDelivery): void {
    this.agents.get(delivery.agentId)?.send(delivery.message);
  }

  toFramework(delivery: FrameworkDelivery): void {
    this.frameworks.get(delivery.streamId)?.send(delivery.event);
  }

  closeFrameworkStream(_frameworkId: string, streamId: string): void {
    const sink = this.frameworks.get(streamId);
    if (!sink) return;
    this.frameworks.delete(streamId);
    sink.close();
  }

  /** Closes every connection (master stopping or losing leadership). */
  closeAll(): void {
    const sinks = [...this.frameworks.values(), ...this.agents.values()];
    this.frameworks.clear();
    this.agents.clear();
    for (const sink of sinks) sink.close();
  }
}
