import { assert } from '../../lib/assert.js';
import type { OfferFilter } from './allocator.js';
import type { CoreLimits, CoreTimings } from './limits.js';
import type {
  AgentDelivery,
  AgentMessage,
  FrameworkDelivery,
  FrameworkEvent,
  PlainValue,
  UnavailableRuntime,
} from './messages.js';
import { Resources } from './resources.js';
import type { SorterFactory } from './sorter/sorter.js';
import { isTerminal, taskKey, type Runtime, type TaskRecord } from './tasks.js';

/** The core's mutable state. Only the handlers in this folder touch it, inside `step`. */

export interface CoreConfig {
  /** Unique per master run (the shell makes it random): prefixes every id this run assigns. */
  readonly masterId: string;
  /** Seeds allocation shuffles and tie-breaks. */
  readonly seed: number;
  readonly limits: CoreLimits;
  readonly timings: CoreTimings;
  readonly minAllocatable: readonly Resources[];
  readonly sorter: SorterFactory;
  /** Re-check the whole accounting after every step (tests and simulations; O(cluster) per step). */
  readonly checkInvariants: boolean;
}

export interface FrameworkState {
  readonly id: string;
  name: string;
  readonly role: string;
  user: string;
  readonly principal: string;
  failoverTimeoutMs: number;
  partitionAware: boolean;
  /** The current event stream; undefined while disconnected. */
  streamId: string | undefined;
  /** Set while disconnected: when the framework and its tasks are removed. */
  failoverDeadlineMs: number | undefined;
  suppressed: boolean;
  readonly filters: Map<string, OfferFilter>;
  readonly offerIds: Set<string>;
  readonly tasks: Map<string, TaskRecord>;
  /** Terminal and acknowledged, newest last; bounded by completedTasksPerFrameworkMax. */
  readonly completed: TaskRecord[];
  /** Scalars only (sums across agents). */
  offered: Resources;
  used: Resources;
  readonly registeredAtMs: number;
}

/**
 * active: registered and connected; disconnected: its stream closed, heartbeats still count;
 * recovering: admitted before a master restart, not yet re-registered; unreachable: missed its
 * heartbeats or its re-registration deadline; gone: marked by an operator, never comes back.
 */
export type AgentStatus = 'active' | 'disconnected' | 'recovering' | 'unreachable' | 'gone';

export interface AgentState {
  readonly id: string;
  hostname: string;
  readonly keyId: string;
  total: Resources;
  runtimes: readonly Runtime[];
  /** What the agent said it cannot or may not run, and why (for operators); absent: nothing said. */
  unavailableRuntimes?: readonly UnavailableRuntime[];
  attributes: Readonly<Record<string, string>>;
  status: AgentStatus;
  offered: Resources;
  used: Resources;
  readonly offerIds: Set<string>;
  /** By taskKey: every task the master believes is on this agent and not yet released. */
  readonly tasks: Map<string, TaskRecord>;
  /**
   * Tasks the master already holds terminal (e.g. LOST while the agent was unreachable) that the
   * agent still runs: their resources stay counted in `used` until the agent reports them ended,
   * so they are never offered twice.
   */
  readonly zombies: Map<string, Resources>;
  lastSeenMs: number;
  reregisterDeadlineMs: number | undefined;
  statusChangedAtMs: number;
}

export interface OfferState {
  readonly id: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly role: string;
  readonly resources: Resources;
  readonly createdAtMs: number;
}

export interface RemovedFramework {
  readonly id: string;
  readonly name: string;
  readonly removedAtMs: number;
  readonly tasks: readonly TaskRecord[];
}

export class Outbox {
  persistNeeded = false;
  /** Jobs put or deleted since the last Ready: the shell may write just these (and the rest). */
  readonly changedJobIds = new Set<string>();
  toAgents: AgentDelivery[] = [];
  toFrameworks: FrameworkDelivery[] = [];
  closeStreams: { frameworkId: string; streamId: string }[] = [];

  toAgent(agentId: string, message: AgentMessage): void {
    this.toAgents.push({ agentId, message });
  }

  /** Dropped when the framework has no stream: the protocol's retries cover what matters. */
  toFramework(framework: FrameworkState, event: FrameworkEvent): void {
    if (framework.streamId === undefined) return;
    this.toFrameworks.push({ frameworkId: framework.id, streamId: framework.streamId, event });
  }

  isEmpty(): boolean {
    return (
      !this.persistNeeded &&
      this.toAgents.length === 0 &&
      this.toFrameworks.length === 0 &&
      this.closeStreams.length === 0
    );
  }
}

export interface CoreState {
  readonly config: CoreConfig;
  readonly frameworks: Map<string, FrameworkState>;
  readonly agents: Map<string, AgentState>;
  readonly offers: Map<string, OfferState>;
  readonly weights: Map<string, number>;
  readonly jobs: Map<string, PlainValue>;
  /** Removed frameworks, oldest first; bounded by completedFrameworksMax. */
  readonly removedFrameworks: Map<string, RemovedFramework>;
  readonly sequence: { framework: number; agent: number; offer: number };
  readonly allocation: {
    /** Resources came free or a consumer appeared: allocate at the next tick. */
    due: boolean;
    /**
     * When the last periodic run was (every allocationIntervalMs): the runs made due in between
     * do not postpone it, since they pass frameworks over where they hold offers.
     */
    lastRunMs: number;
    runs: number;
  };
  out: Outbox;
}

export function nextId(core: CoreState, kind: 'framework' | 'agent' | 'offer'): string {
  const number = ++core.sequence[kind];
  const letter = kind === 'framework' ? 'F' : kind === 'agent' ? 'S' : 'O';
  return `${core.config.masterId}-${letter}${number}`;
}

/**
 * The part of a framework's state the registry does not keep: a newly subscribed framework and
 * one recovered from the registry after a restart both start with nothing offered, held or
 * filtered.
 */
export function freshFrameworkBookkeeping(): Pick<
  FrameworkState,
  'suppressed' | 'filters' | 'offerIds' | 'tasks' | 'completed' | 'offered' | 'used'
> {
  return {
    suppressed: false,
    filters: new Map(),
    offerIds: new Set(),
    tasks: new Map(),
    completed: [],
    offered: Resources.empty,
    used: Resources.empty,
  };
}

/**
 * The part of an agent's state the registry does not keep: a newly admitted agent and one
 * recovered from the registry (until it re-registers with its tasks) both start with nothing
 * offered or held.
 */
export function freshAgentBookkeeping(): Pick<
  AgentState,
  'offered' | 'used' | 'offerIds' | 'tasks' | 'zombies'
> {
  return {
    offered: Resources.empty,
    used: Resources.empty,
    offerIds: new Set(),
    tasks: new Map(),
    zombies: new Map(),
  };
}

// ---- accounting: every change of offered/used goes through these, in pairs --------------

export function addOffer(core: CoreState, offer: OfferState): void {
  const agent = core.agents.get(offer.agentId);
  const framework = core.frameworks.get(offer.frameworkId);
  assert(agent && agent.status === 'active', `offer ${offer.id} is on an active agent`);
  assert(framework, `offer ${offer.id} goes to a known framework`);
  const available = agent.total.subtract(agent.offered).subtract(agent.used);
  assert(available.contains(offer.resources), `offer ${offer.id} fits ${agent.id}'s availability`);
  agent.offered = agent.offered.add(offer.resources);
  agent.offerIds.add(offer.id);
  framework.offered = framework.offered.add(offer.resources.scalars());
  framework.offerIds.add(offer.id);
  core.offers.set(offer.id, offer);
}

/** Takes an offer off the books; its resources become available again. */
export function removeOffer(core: CoreState, offerId: string): OfferState {
  const offer = core.offers.get(offerId);
  assert(offer, `offer ${offerId} is outstanding`);
  const agent = core.agents.get(offer.agentId);
  const framework = core.frameworks.get(offer.frameworkId);
  assert(agent, `offer ${offerId}'s agent is known`);
  assert(framework, `offer ${offerId}'s framework is known`);
  agent.offered = agent.offered.subtract(offer.resources);
  agent.offerIds.delete(offerId);
  framework.offered = framework.offered.subtract(offer.resources.scalars());
  framework.offerIds.delete(offerId);
  core.offers.delete(offerId);
  core.allocation.due = true;
  return offer;
}

/** A live task starts counting against its agent and framework. */
export function holdTask(core: CoreState, task: TaskRecord): void {
  const agent = core.agents.get(task.agentId);
  const framework = core.frameworks.get(task.frameworkId);
  assert(agent, `task ${task.id}'s agent is known`);
  assert(framework, `task ${task.id}'s framework is known`);
  assert(!isTerminal(task.state), `a held task ${task.id} is live`);
  const key = taskKey(task.frameworkId, task.id);
  assert(!agent.tasks.has(key), `task ${task.id} is held once`);
  agent.used = agent.used.add(task.resources);
  assert(agent.total.contains(agent.used.add(agent.offered)), `task ${task.id} fits ${agent.id}`);
  agent.tasks.set(key, task);
  framework.used = framework.used.add(task.resources.scalars());
  framework.tasks.set(task.id, task);
}

/**
 * The task reached a terminal state: its resources go back at once (as in Mesos, at the
 * terminal update, not at the acknowledgement). It stays in `framework.tasks` until acknowledged.
 */
export function releaseTask(core: CoreState, task: TaskRecord): void {
  assert(isTerminal(task.state), `released task ${task.id} is terminal`);
  const agent = core.agents.get(task.agentId);
  const framework = core.frameworks.get(task.frameworkId);
  assert(framework, `task ${task.id}'s framework is known`);
  const key = taskKey(task.frameworkId, task.id);
  if (agent && agent.tasks.delete(key)) {
    agent.used = agent.used.subtract(task.resources);
    framework.used = framework.used.subtract(task.resources.scalars());
    core.allocation.due = true;
  }
}

/** Terminal and acknowledged (or needing no acknowledgement): into the bounded completed list. */
export function completeTask(core: CoreState, task: TaskRecord): void {
  const framework = core.frameworks.get(task.frameworkId);
  assert(framework, `task ${task.id}'s framework is known`);
  assert(isTerminal(task.state), `completed task ${task.id} is terminal`);
  releaseTask(core, task);
  framework.tasks.delete(task.id);
  framework.completed.push(task);
  if (framework.completed.length > core.config.limits.completedTasksPerFrameworkMax) {
    framework.completed.shift();
  }
}

export function isConnected(framework: FrameworkState): boolean {
  return framework.streamId !== undefined;
}

export function holdZombie(agent: AgentState, key: string, resources: Resources): void {
  if (agent.zombies.has(key)) return;
  agent.zombies.set(key, resources);
  agent.used = agent.used.add(resources);
}

export function releaseZombie(core: CoreState, agent: AgentState, key: string): void {
  const resources = agent.zombies.get(key);
  if (!resources) return;
  agent.zombies.delete(key);
  agent.used = agent.used.subtract(resources);
  core.allocation.due = true;
}

export function availableOn(agent: AgentState): Resources {
  return agent.total.subtract(agent.offered).subtract(agent.used);
}
