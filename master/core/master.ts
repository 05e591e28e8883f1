import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';
import {
  agentDisconnected,
  checkAgent,
  checkAgentTimeouts,
  heartbeat,
  markGone,
  pruneRememberedAgents,
  registerAgent,
  reregisterAgent,
} from './agents.js';
import { defaultMinAllocatable, type AllocationPlan } from './allocator.js';
import { coreError, limitError, type CoreError } from './errors.js';
import {
  checkStream,
  disconnect,
  expireFailovers,
  removeFramework,
  revive,
  subscribe,
  suppress,
} from './frameworks.js';
import {
  checkConfig,
  defaultLimits,
  defaultTimings,
  type CoreLimits,
  type CoreTimings,
} from './limits.js';
import type {
  AgentInput,
  CoreInput,
  FrameworkInput,
  OperatorInput,
  Ready,
  StepReply,
} from './messages.js';
import { accept, expireFilters, expireOffers, runAllocation } from './offers.js';
import { emptyRegistry, registrySnapshot, type Registry } from './registry.js';
import { reconcile } from './reconciliation.js';
import { Resources } from './resources.js';
import { drfSorter } from './sorter/drf.js';
import type { SorterFactory } from './sorter/sorter.js';
import {
  Outbox,
  availableOn,
  freshAgentBookkeeping,
  freshFrameworkBookkeeping,
  type CoreConfig,
  type CoreState,
} from './state.js';
import { acknowledge, statusUpdate } from './status-updates.js';
import { isTerminal, masterStatus } from './tasks.js';

export interface MasterCoreOptions {
  readonly masterId: string;
  readonly seed: number;
  readonly limits?: Partial<CoreLimits>;
  readonly timings?: Partial<CoreTimings>;
  readonly minAllocatable?: readonly Resources[];
  readonly sorter?: SorterFactory;
  /**
   * After every step, verify that offers, agents and frameworks agree and no agent is
   * over-allocated. It walks the whole cluster, so it is for tests and simulations (default off).
   */
  readonly checkInvariants?: boolean;
}

const done: StepReply = { kind: 'done' };

/**
 * The master as a pure state machine (etcd raft's RawNode shape): `step(input, nowMs)` applies
 * one input and returns a reply or a typed error (then nothing changed); `ready()` hands out the
 * obligations accumulated since the last `advance()`: persist, then send, then advance. No I/O,
 * no timers, no clock: time comes in as `nowMs`, and `ready().wakeAtMs` says when to tick.
 */
export class MasterCore {
  private readonly state: CoreState;
  private nowMs: number;
  private readyTaken = false;
  /** The last allocation plan, for metrics and debugging. */
  lastPlan: AllocationPlan | undefined;

  private constructor(config: CoreConfig, nowMs: number) {
    this.nowMs = nowMs;
    this.state = {
      config,
      frameworks: new Map(),
      agents: new Map(),
      offers: new Map(),
      weights: new Map(),
      jobs: new Map(),
      removedFrameworks: new Map(),
      sequence: { framework: 0, agent: 0, offer: 0 },
      allocation: { due: true, lastRunMs: nowMs, runs: 0 },
      out: new Outbox(),
    };
  }

  /** A master starting from its durable registry (empty on first start). */
  static create(
    options: MasterCoreOptions,
    registry: Registry = emptyRegistry(),
    nowMs = 0,
  ): Result<MasterCore, string> {
    const limits = { ...defaultLimits, ...options.limits };
    const timings = { ...defaultTimings, ...options.timings };
    const checked = checkConfig(limits, timings);
    if (!checked.ok) return checked;
    if (options.masterId.length === 0) return err('masterId must not be empty');
    const core = new MasterCore(
      {
        masterId: options.masterId,
        seed: options.seed,
        limits,
        timings,
        minAllocatable: options.minAllocatable ?? defaultMinAllocatable,
        sorter: options.sorter ?? drfSorter,
        checkInvariants: options.checkInvariants ?? false,
      },
      nowMs,
    );
    core.recover(registry, nowMs);
    return ok(core);
  }

  private recover(registry: Registry, nowMs: number): void {
    const { timings } = this.state.config;
    for (const entry of registry.agents) {
      const status = entry.status === 'admitted' ? 'recovering' : entry.status;
      this.state.agents.set(entry.id, {
        id: entry.id,
        hostname: entry.hostname,
        keyId: entry.keyId,
        total: Resources.empty,
        runtimes: [],
        attributes: {},
        status,
        ...freshAgentBookkeeping(),
        lastSeenMs: nowMs,
        reregisterDeadlineMs:
          status === 'recovering' ? nowMs + timings.agentReregisterTimeoutMs : undefined,
        statusChangedAtMs: entry.changedAtMs,
      });
    }
    for (const entry of registry.frameworks) {
      // Everyone is disconnected after a restart; give them at least the recovery window.
      const graceMs = Math.max(entry.failoverTimeoutMs, timings.frameworkRecoveryTimeoutMs);
      this.state.frameworks.set(entry.id, {
        ...entry,
        streamId: undefined,
        failoverDeadlineMs: entry.failoverDeadlineMs ?? nowMs + graceMs,
        ...freshFrameworkBookkeeping(),
      });
    }
    for (const [role, weight] of Object.entries(registry.weights))
      this.state.weights.set(role, weight);
    for (const [jobId, record] of Object.entries(registry.jobs)) this.state.jobs.set(jobId, record);
  }

  step(input: CoreInput, nowMs: number): Result<StepReply, CoreError> {
    assert(!this.readyTaken, 'step called between ready() and advance()');
    // The wall clock may step back; the core's time never does.
    this.nowMs = Math.max(this.nowMs, nowMs);
    const result = this.dispatch(input, this.nowMs);
    if (result.ok && this.state.config.checkInvariants) this.checkAccounting();
    return result;
  }

  private dispatch(input: CoreInput, nowMs: number): Result<StepReply, CoreError> {
    switch (input.kind) {
      case 'registerAgent':
      case 'reregisterAgent':
      case 'agentHeartbeat':
      case 'statusUpdate':
      case 'unregisterAgent':
      case 'agentDisconnected':
        return this.agentStep(input, nowMs);
      case 'updateWeights':
      case 'markAgentGone':
      case 'removeFramework':
      case 'putJob':
      case 'deleteJob':
      case 'tick':
        return this.operatorStep(input, nowMs);
      default:
        return this.frameworkStep(input, nowMs);
    }
  }

  private frameworkStep(input: FrameworkInput, nowMs: number): Result<StepReply, CoreError> {
    const core = this.state;
    if (input.kind === 'subscribe') {
      const subscribed = subscribe(core, input.streamId, input.framework, nowMs);
      return subscribed.ok ? ok({ kind: 'subscribed', frameworkId: subscribed.value }) : subscribed;
    }
    const checked = checkStream(core, input.frameworkId, input.streamId);
    if (!checked.ok) return checked;
    const framework = checked.value;
    switch (input.kind) {
      case 'teardown':
        removeFramework(core, framework, nowMs);
        return ok(done);
      case 'accept':
      case 'decline': {
        if (
          input.refuseMs !== undefined &&
          !(Number.isFinite(input.refuseMs) && input.refuseMs >= 0)
        ) {
          return err(coreError('invalid', 'refuse duration must be a non-negative number'));
        }
        const launches = input.kind === 'accept' ? input.launches : [];
        const accepted = accept(core, framework, input.offerIds, launches, input.refuseMs, nowMs);
        return accepted.ok ? ok(done) : accepted;
      }
      case 'revive':
        revive(core, framework, input.roles);
        return ok(done);
      case 'suppress':
        suppress(framework, input.roles);
        return ok(done);
      case 'kill':
        return this.kill(input.frameworkId, input.taskId, input.agentId, nowMs);
      case 'acknowledge':
        acknowledge(core, framework, input.agentId, input.taskId, input.uuid);
        return ok(done);
      case 'reconcile': {
        const { reconcileTasksPerCallMax } = core.config.limits;
        if (input.tasks.length > reconcileTasksPerCallMax) {
          return err(
            limitError(
              'reconcileTasksPerCallMax',
              reconcileTasksPerCallMax,
              'too many tasks to reconcile',
            ),
          );
        }
        for (const status of reconcile(core, framework, input.tasks, nowMs)) {
          core.out.toFramework(framework, { type: 'update', status });
        }
        return ok(done);
      }
      case 'message': {
        const { messageDataBytesMax } = core.config.limits;
        if (input.data.byteLength > messageDataBytesMax) {
          return err(limitError('messageDataBytesMax', messageDataBytesMax, 'message too large'));
        }
        if (!core.agents.has(input.agentId))
          return err(coreError('agent_unknown', `agent ${input.agentId} is unknown`));
        core.out.toAgent(input.agentId, {
          type: 'frameworkMessage',
          frameworkId: framework.id,
          executorId: input.executorId,
          data: input.data,
        });
        return ok(done);
      }
      case 'frameworkDisconnected':
        disconnect(core, framework, nowMs);
        return ok(done);
    }
  }

  /** KILL: forwarded to the agent; an unknown task gets a reconciliation-style answer. */
  private kill(
    frameworkId: string,
    taskId: string,
    agentId: string | undefined,
    nowMs: number,
  ): Result<StepReply, CoreError> {
    const core = this.state;
    const framework = core.frameworks.get(frameworkId)!;
    const task = framework.tasks.get(taskId);
    if (task && !isTerminal(task.state)) {
      task.killRequested = true;
      core.out.toAgent(task.agentId, { type: 'kill', frameworkId, taskId });
      return ok(done);
    }
    if (!task) {
      for (const status of reconcile(
        core,
        framework,
        [{ taskId, ...(agentId !== undefined && { agentId }) }],
        nowMs,
      )) {
        core.out.toFramework(framework, {
          type: 'update',
          status: { ...status, message: 'kill of a task the master does not run' },
        });
      }
    }
    return ok(done);
  }

  private agentStep(input: AgentInput, nowMs: number): Result<StepReply, CoreError> {
    const core = this.state;
    if (input.kind === 'registerAgent') {
      const registered = registerAgent(core, input.keyId, input.agent, nowMs);
      return registered.ok
        ? ok({ kind: 'agentRegistered', agentId: registered.value })
        : registered;
    }
    if (input.kind === 'reregisterAgent') {
      const result = reregisterAgent(
        core,
        input.agentId,
        input.keyId,
        input.agent,
        input.tasks,
        nowMs,
        input.unacknowledged,
      );
      return result.ok ? ok({ kind: 'agentRegistered', agentId: input.agentId }) : result;
    }
    if (input.kind === 'agentDisconnected') {
      const agent = core.agents.get(input.agentId);
      if (agent) agentDisconnected(core, agent, nowMs);
      return ok(done);
    }
    const checked = checkAgent(core, input.agentId, input.keyId);
    if (!checked.ok) return checked;
    const agent = checked.value;
    heartbeat(agent, nowMs);
    if (input.kind === 'statusUpdate') {
      const refused = statusUpdate(core, agent, input.update);
      return refused ? err(refused) : ok(done);
    }
    if (input.kind === 'unregisterAgent')
      markGone(core, agent, nowMs, `agent ${agent.id} unregistered`);
    return ok(done);
  }

  private operatorStep(input: OperatorInput, nowMs: number): Result<StepReply, CoreError> {
    const core = this.state;
    switch (input.kind) {
      case 'tick':
        this.tick(nowMs);
        return ok(done);
      case 'updateWeights':
        return this.updateWeights(input.weights);
      case 'markAgentGone': {
        const agent = core.agents.get(input.agentId);
        if (!agent) return err(coreError('agent_unknown', `agent ${input.agentId} is unknown`));
        if (agent.status !== 'gone')
          markGone(core, agent, nowMs, `agent ${agent.id} marked gone by an operator`);
        return ok(done);
      }
      case 'removeFramework': {
        const framework = core.frameworks.get(input.frameworkId);
        if (!framework)
          return err(coreError('framework_unknown', `framework ${input.frameworkId} is unknown`));
        removeFramework(core, framework, nowMs);
        return ok(done);
      }
      case 'putJob': {
        const { jobsMax, idCharsMax } = core.config.limits;
        if (input.jobId.length === 0 || input.jobId.length > idCharsMax)
          return err(coreError('invalid', 'job id length'));
        if (!core.jobs.has(input.jobId) && core.jobs.size >= jobsMax)
          return err(limitError('jobsMax', jobsMax, 'too many jobs'));
        core.jobs.set(input.jobId, input.record);
        core.out.persistNeeded = true;
        core.out.changedJobIds.add(input.jobId);
        return ok(done);
      }
      case 'deleteJob':
        if (core.jobs.delete(input.jobId)) {
          core.out.persistNeeded = true;
          core.out.changedJobIds.add(input.jobId);
        }
        return ok(done);
    }
  }

  private updateWeights(weights: Readonly<Record<string, number>>): Result<StepReply, CoreError> {
    const core = this.state;
    const entries = Object.entries(weights);
    for (const [role, weight] of entries) {
      if (!(Number.isFinite(weight) && weight > 0))
        return err(coreError('invalid', `weight of ${role} must be positive`));
    }
    const roles = new Set([...core.weights.keys(), ...entries.map(([role]) => role)]);
    const { weightedRolesMax } = core.config.limits;
    if (roles.size > weightedRolesMax)
      return err(limitError('weightedRolesMax', weightedRolesMax, 'too many weighted roles'));
    for (const [role, weight] of entries) core.weights.set(role, weight);
    core.out.persistNeeded = true;
    core.allocation.due = true;
    return ok(done);
  }

  /** Timers first (they free resources), then allocation if due or the interval has passed. */
  private tick(nowMs: number): void {
    const core = this.state;
    expireOffers(core, nowMs);
    checkAgentTimeouts(core, nowMs);
    expireFailovers(core, nowMs);
    expireFilters(core, nowMs);
    pruneRememberedAgents(core);
    const intervalDue =
      nowMs >= core.allocation.lastRunMs + core.config.timings.allocationIntervalMs;
    if (core.allocation.due || intervalDue) this.lastPlan = runAllocation(core, nowMs, intervalDue);
  }

  hasReady(): boolean {
    return !this.state.out.isEmpty();
  }

  /** The obligations since the last advance(). Call advance() once they are carried out. */
  ready(): Ready {
    assert(!this.readyTaken, 'ready() taken twice without advance()');
    this.readyTaken = true;
    const core = this.state;
    const out = core.out;
    const intervalMs = core.config.timings.allocationIntervalMs;
    return {
      persist: out.persistNeeded ? registrySnapshot(core) : undefined,
      changedJobIds: out.changedJobIds,
      toAgents: out.toAgents,
      toFrameworks: out.toFrameworks,
      closeStreams: out.closeStreams,
      wakeAtMs: core.allocation.due ? this.nowMs : core.allocation.lastRunMs + intervalMs,
    };
  }

  advance(): void {
    assert(this.readyTaken, 'advance() without ready()');
    this.readyTaken = false;
    this.state.out = new Outbox();
  }

  /** When the shell should tick next, without taking a Ready batch. */
  wakeAtMs(): number {
    const core = this.state;
    return core.allocation.due
      ? this.nowMs
      : core.allocation.lastRunMs + core.config.timings.allocationIntervalMs;
  }

  /** The durable registry as of now (for a first write or a forced snapshot). */
  registry(): Registry {
    return registrySnapshot(this.state);
  }

  /** Read-only state for the operator API, metrics and tests. Do not mutate. */
  view(): Readonly<CoreState> {
    return this.state;
  }

  /** offered + used within total on every agent; books of offers, tasks, agents and frameworks agree. */
  private checkAccounting(): void {
    const core = this.state;
    let offeredByOffers = Resources.empty;
    for (const offer of core.offers.values())
      offeredByOffers = offeredByOffers.add(offer.resources.scalars());
    let offeredByAgents = Resources.empty;
    for (const agent of core.agents.values()) {
      assert(
        agent.total.contains(agent.offered.add(agent.used)),
        `agent ${agent.id} is not over-allocated`,
      );
      assert(availableOn(agent) !== undefined, 'available is derivable');
      offeredByAgents = offeredByAgents.add(agent.offered.scalars());
    }
    let offeredByFrameworks = Resources.empty;
    for (const framework of core.frameworks.values())
      offeredByFrameworks = offeredByFrameworks.add(framework.offered);
    assert(offeredByOffers.equals(offeredByAgents), 'offers and agents agree on what is offered');
    assert(
      offeredByOffers.equals(offeredByFrameworks),
      'offers and frameworks agree on what is offered',
    );
  }
}

export { masterStatus };
