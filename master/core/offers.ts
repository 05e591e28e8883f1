import { ok, err, type Result } from '../../lib/result.js';
import { allocate, type AllocationPlan } from './allocator.js';
import { limitError, type CoreError } from './errors.js';
import type { OfferView, TaskLaunch } from './messages.js';
import { Resources } from './resources.js';
import { mixSeed } from './rng.js';
import {
  addOffer,
  availableOn,
  holdTask,
  isConnected,
  nextId,
  removeOffer,
  type AgentState,
  type CoreState,
  type FrameworkState,
  type OfferState,
} from './state.js';
import { masterStatus, type TaskReason, type TaskRecord, type TaskState } from './tasks.js';

/** Offers: allocation runs, ACCEPT (LAUNCH), DECLINE, timeouts and rescinds. */

/**
 * Runs the allocator on a snapshot of the state and turns its plan into OFFERS events. A run
 * that is not the periodic one (`intervalRun` false: resources were freed, a framework arrived
 * or revived) passes a framework over on the agents where it holds an offer: what was freed
 * there is offered with the rest of that agent's resources once the framework answers its
 * offer (ACCEPT or DECLINE make the next run due), or at the next periodic run at the latest.
 * So a busy framework gets one large offer per agent, not a small one per ended task.
 */
export function runAllocation(core: CoreState, nowMs: number, intervalRun = true): AllocationPlan {
  const agents = [];
  let total = Resources.empty;
  for (const agent of core.agents.values()) {
    if (agent.status !== 'active') continue;
    agents.push({ id: agent.id, available: availableOn(agent) });
    total = total.add(agent.total.scalars());
  }
  const frameworks = [...core.frameworks.values()].map((framework) => ({
    id: framework.id,
    role: framework.role,
    allocation: framework.offered.add(framework.used),
    active: isConnected(framework),
    suppressed: framework.suppressed,
    offersOutstanding: framework.offerIds.size,
    filters: framework.filters,
    ...(intervalRun ? {} : { holdsOffersOn: agentsOffered(core, framework) }),
  }));
  const plan = allocate(
    {
      agents,
      frameworks,
      weights: core.weights,
      total,
      nowMs,
      seed: mixSeed(core.config.seed, core.allocation.runs),
      offersOutstandingPerFrameworkMax: core.config.limits.offersOutstandingPerFrameworkMax,
      minAllocatable: core.config.minAllocatable,
    },
    core.config.sorter,
  );
  core.allocation.runs++;
  if (intervalRun) core.allocation.lastRunMs = nowMs;
  core.allocation.due = false;
  applyPlan(core, plan, nowMs);
  return plan;
}

function applyPlan(core: CoreState, plan: AllocationPlan, nowMs: number): void {
  const byFramework = new Map<string, OfferView[]>();
  for (const planned of plan.offers) {
    const offer: OfferState = { id: nextId(core, 'offer'), ...planned, createdAtMs: nowMs };
    addOffer(core, offer);
    const views = byFramework.get(offer.frameworkId) ?? [];
    views.push(offerView(core, offer));
    byFramework.set(offer.frameworkId, views);
  }
  for (const [frameworkId, offers] of byFramework) {
    core.out.toFramework(core.frameworks.get(frameworkId)!, { type: 'offers', offers });
  }
}

function agentsOffered(core: CoreState, framework: FrameworkState): ReadonlySet<string> {
  const agentIds = new Set<string>();
  for (const offerId of framework.offerIds) {
    const offer = core.offers.get(offerId);
    if (offer) agentIds.add(offer.agentId);
  }
  return agentIds;
}

export function offerView(core: CoreState, offer: OfferState): OfferView {
  const agent = core.agents.get(offer.agentId)!;
  return {
    id: offer.id,
    frameworkId: offer.frameworkId,
    agentId: offer.agentId,
    hostname: agent.hostname,
    role: offer.role,
    resources: offer.resources,
    runtimes: agent.runtimes,
    attributes: agent.attributes,
  };
}

/** Offers are rescinded (event to the framework) and their resources go back to the pool. */
export function rescindOffer(core: CoreState, offerId: string): void {
  const offer = removeOffer(core, offerId);
  const framework = core.frameworks.get(offer.frameworkId);
  if (framework) core.out.toFramework(framework, { type: 'rescind', offerId });
}

export function rescindAgentOffers(core: CoreState, agent: AgentState): void {
  for (const offerId of [...agent.offerIds]) rescindOffer(core, offerId);
}

export function expireOffers(core: CoreState, nowMs: number): void {
  const timeoutMs = core.config.timings.offerTimeoutMs;
  for (const offer of [...core.offers.values()]) {
    if (offer.createdAtMs + timeoutMs <= nowMs) rescindOffer(core, offer.id);
  }
}

/** Checks that apply before anything changes: a bad call is refused whole. */
export function checkAccept(
  core: CoreState,
  framework: FrameworkState,
  offerIds: readonly string[],
  launches: readonly TaskLaunch[],
): CoreError | undefined {
  const { limits } = core.config;
  if (offerIds.length > limits.offerIdsPerCallMax) {
    return limitError('offerIdsPerCallMax', limits.offerIdsPerCallMax, 'too many offer ids');
  }
  if (launches.length > limits.tasksPerAcceptMax) {
    return limitError('tasksPerAcceptMax', limits.tasksPerAcceptMax, 'too many tasks in one call');
  }
  if (framework.tasks.size + launches.length > limits.tasksPerFrameworkMax) {
    return limitError('tasksPerFrameworkMax', limits.tasksPerFrameworkMax, 'too many tasks');
  }
  return undefined;
}

/**
 * ACCEPT with LAUNCH operations (DECLINE is an ACCEPT without any). Invalid offers drop every
 * task (TASK_DROPPED, or TASK_LOST for frameworks that are not partition-aware); an invalid task
 * gets TASK_ERROR with the reason; valid tasks are launched; unused resources return to the
 * pool under the framework's filter.
 */
export function accept(
  core: CoreState,
  framework: FrameworkState,
  offerIds: readonly string[],
  launches: readonly TaskLaunch[],
  refuseMs: number | undefined,
  nowMs: number,
): Result<void, CoreError> {
  const refused = checkAccept(core, framework, offerIds, launches);
  if (refused) return err(refused);
  const offers = validateOffers(core, framework, offerIds);
  for (const offerId of offerIds) {
    const offer = core.offers.get(offerId);
    if (offer && offer.frameworkId === framework.id) removeOffer(core, offerId);
  }
  if (typeof offers === 'string') {
    const state: TaskState = framework.partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
    for (const launch of launches)
      rejectLaunch(core, framework, launch, state, 'REASON_INVALID_OFFERS', offers, nowMs);
    return ok(undefined);
  }
  if (offers.length === 0) return ok(undefined);
  const agent = core.agents.get(offers[0]!.agentId)!;
  let remaining = offers.reduce((sum, offer) => sum.add(offer.resources), Resources.empty);
  const seen = new Set<string>();
  for (const launch of launches) {
    const problem = launchProblem(core, framework, agent, remaining, launch, seen);
    seen.add(launch.taskId);
    if (problem) {
      rejectLaunch(core, framework, launch, 'TASK_ERROR', 'REASON_TASK_INVALID', problem, nowMs);
      continue;
    }
    remaining = remaining.subtract(launch.resources);
    launchTask(core, framework, agent, launch, nowMs);
  }
  applyFilter(core, framework, agent, remaining, refuseMs, nowMs);
  return ok(undefined);
}

/** The offers as a list if all are valid, else why not. */
function validateOffers(
  core: CoreState,
  framework: FrameworkState,
  offerIds: readonly string[],
): OfferState[] | string {
  const offers: OfferState[] = [];
  if (new Set(offerIds).size !== offerIds.length) return 'an offer id is listed twice';
  for (const offerId of offerIds) {
    const offer = core.offers.get(offerId);
    if (!offer) return `offer ${offerId} is no longer valid`;
    if (offer.frameworkId !== framework.id) return `offer ${offerId} belongs to another framework`;
    if (offers.length > 0 && offers[0]!.agentId !== offer.agentId)
      return 'offers span more than one agent';
    offers.push(offer);
  }
  return offers;
}

function launchProblem(
  core: CoreState,
  framework: FrameworkState,
  agent: AgentState,
  remaining: Resources,
  launch: TaskLaunch,
  seen: ReadonlySet<string>,
): string | undefined {
  if (launch.taskId.length === 0 || launch.taskId.length > core.config.limits.idCharsMax) {
    return 'task id must be 1 to idCharsMax characters';
  }
  if (seen.has(launch.taskId) || framework.tasks.has(launch.taskId)) {
    return `task id ${launch.taskId} is already in use by this framework`;
  }
  if (launch.agentId !== undefined && launch.agentId !== agent.id) {
    return `task names agent ${launch.agentId} but the offers are on ${agent.id}`;
  }
  if (launch.resources.scalars().isEmpty()) return 'a task needs some cpus or mem';
  if (!agent.runtimes.includes(launch.runtime)) {
    return `agent ${agent.id} cannot run ${launch.runtime} tasks (it has: ${agent.runtimes.join(', ') || 'none'})`;
  }
  if (!remaining.contains(launch.resources)) {
    return `task needs ${launch.resources.toString()} but the offers have ${remaining.toString()} left`;
  }
  return undefined;
}

function rejectLaunch(
  core: CoreState,
  framework: FrameworkState,
  launch: TaskLaunch,
  state: TaskState,
  reason: TaskReason,
  message: string,
  nowMs: number,
): void {
  const status = masterStatus(
    { id: launch.taskId, agentId: launch.agentId },
    state,
    reason,
    message,
    nowMs,
  );
  core.out.toFramework(framework, { type: 'update', status });
}

function launchTask(
  core: CoreState,
  framework: FrameworkState,
  agent: AgentState,
  launch: TaskLaunch,
  nowMs: number,
): void {
  const task: TaskRecord = {
    id: launch.taskId,
    frameworkId: framework.id,
    agentId: agent.id,
    name: launch.name,
    resources: launch.resources,
    runtime: launch.runtime,
    state: 'TASK_STAGING',
    status: {
      taskId: launch.taskId,
      agentId: agent.id,
      state: 'TASK_STAGING',
      source: 'SOURCE_MASTER',
      timestampMs: nowMs,
    },
    pendingUuid: undefined,
    recentUuids: [],
    killRequested: false,
  };
  holdTask(core, task);
  core.out.toAgent(agent.id, {
    type: 'launch',
    frameworkId: framework.id,
    taskId: task.id,
    name: task.name,
    resources: task.resources,
    runtime: task.runtime,
    payload: launch.payload,
  });
}

function applyFilter(
  core: CoreState,
  framework: FrameworkState,
  agent: AgentState,
  unused: Resources,
  refuseMs: number | undefined,
  nowMs: number,
): void {
  const { refuseMsDefault, refuseMsMax } = core.config.timings;
  const durationMs = Math.min(Math.max(refuseMs ?? refuseMsDefault, 0), refuseMsMax);
  if (durationMs === 0 || unused.isEmpty()) return;
  framework.filters.set(agent.id, { resources: unused, expiresAtMs: nowMs + durationMs });
}

/** Drops expired filters (bounded work per tick: one pass over frameworks with filters). */
export function expireFilters(core: CoreState, nowMs: number): void {
  for (const framework of core.frameworks.values()) {
    for (const [agentId, filter] of framework.filters) {
      if (filter.expiresAtMs <= nowMs) framework.filters.delete(agentId);
    }
  }
}
