import { assert } from '../../lib/assert.js';
import { Resources } from './resources.js';
import { seededRng, shuffleInPlace } from './rng.js';
import { drfSorter } from './sorter/drf.js';
import type { Sorter, SorterFactory } from './sorter/sorter.js';

/**
 * The hierarchical allocator as a pure function: a frozen snapshot in, a plan out. Like
 * Mesos's `HierarchicalAllocatorProcess`, it visits agents in a (seeded) random order and
 * offers all of an agent's available resources to the first eligible framework, choosing the
 * role first (role sorter: share divided by role weight) and then the framework within the
 * role (framework sorter). Every planned offer counts towards the shares of later choices in
 * the same run, and against the agent's availability: an agent is offered at most once per run.
 */

/** A framework declined these resources on this agent until `expiresAtMs` (Mesos RefusedOfferFilter). */
export interface OfferFilter {
  readonly resources: Resources;
  readonly expiresAtMs: number;
}

export interface AllocatorAgent {
  readonly id: string;
  /** total − offered − used; the caller asserts it is non-negative. */
  readonly available: Resources;
}

export interface AllocatorFramework {
  readonly id: string;
  readonly role: string;
  /** Offered plus used, cluster-wide: what the sorters weigh. */
  readonly allocation: Resources;
  /** Connected (not failing over). */
  readonly active: boolean;
  /** SUPPRESSed for its role: wants no offers until REVIVE. */
  readonly suppressed: boolean;
  readonly offersOutstanding: number;
  /** Per agent id; only unexpired filters matter. */
  readonly filters: ReadonlyMap<string, OfferFilter>;
  /**
   * Agents this framework is passed over for in this run because it holds an offer there
   * (set by the caller for runs that only hand out freed resources, see runAllocation).
   */
  readonly holdsOffersOn?: ReadonlySet<string>;
}

export interface AllocationSnapshot {
  readonly agents: readonly AllocatorAgent[];
  readonly frameworks: readonly AllocatorFramework[];
  /** Role weights; a role not listed weighs 1. */
  readonly weights: ReadonlyMap<string, number>;
  /** The cluster's total resources: the DRF denominators. */
  readonly total: Resources;
  readonly nowMs: number;
  /** Seeds agent shuffling and sorter tie-breaks: the same snapshot and seed give the same plan. */
  readonly seed: number;
  readonly offersOutstandingPerFrameworkMax: number;
  /** An agent is offered only if its availability contains one of these (Mesos min_allocatable_resources). */
  readonly minAllocatable: readonly Resources[];
}

export interface PlannedOffer {
  readonly frameworkId: string;
  readonly agentId: string;
  readonly role: string;
  readonly resources: Resources;
}

/** Why an agent or framework was passed over; counted in the plan so every gap is explained. */
export const SkipReason = {
  /** The agent's free resources are below every minimum allocatable set. */
  BelowMinimum: 'below_minimum',
  /** The framework refused this agent's resources recently (offer filter). */
  Filtered: 'filtered',
  /** No framework could take the agent (all filtered, suppressed, inactive or at their bound). */
  NoFramework: 'no_framework',
  /** A framework was skipped for the whole run: suppressed. */
  Suppressed: 'suppressed',
  /** A framework was skipped for the whole run: disconnected. */
  Inactive: 'inactive',
  /** A framework reached its outstanding-offer bound. */
  OfferLimit: 'offer_limit',
  /**
   * The framework holds an offer on this agent: resources freed there join it when it answers
   * that offer, as one larger offer, instead of going out as a small one of their own.
   */
  HoldsOffer: 'holds_offer',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export interface AllocationPlan {
  readonly offers: readonly PlannedOffer[];
  readonly agentsConsidered: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
}

interface FrameworkSlot {
  readonly framework: AllocatorFramework;
  eligible: boolean;
  offersOutstanding: number;
}

interface RunState {
  readonly snapshot: AllocationSnapshot;
  readonly roleSorter: Sorter;
  readonly frameworkSorters: Map<string, Sorter>;
  readonly slots: Map<string, FrameworkSlot>;
  /** Eligible frameworks per role, so roles with none are skipped in O(1). */
  readonly eligibleByRole: Map<string, number>;
  readonly skipped: Record<SkipReason, number>;
}

export function allocate(
  snapshot: AllocationSnapshot,
  sorterFactory: SorterFactory = drfSorter,
): AllocationPlan {
  const run = startRun(snapshot, sorterFactory);
  const agents = [...snapshot.agents];
  shuffleInPlace(agents, seededRng(snapshot.seed ^ 0x5bd1e995));
  const offers: PlannedOffer[] = [];
  for (const agent of agents) {
    if (!meetsMinimum(agent.available, snapshot.minAllocatable)) {
      run.skipped[SkipReason.BelowMinimum]++;
      continue;
    }
    const slot = pickFramework(run, agent);
    if (!slot) {
      run.skipped[SkipReason.NoFramework]++;
      continue;
    }
    offers.push(planOffer(run, slot, agent));
  }
  return { offers, agentsConsidered: agents.length, skipped: run.skipped };
}

function startRun(snapshot: AllocationSnapshot, sorterFactory: SorterFactory): RunState {
  const rng = seededRng(snapshot.seed);
  const skipped = emptySkips();
  const slots = new Map<string, FrameworkSlot>();
  const eligibleByRole = new Map<string, number>();
  const roleAllocations = new Map<string, Resources>();
  const frameworkSorters = new Map<string, Sorter>();
  for (const framework of snapshot.frameworks) {
    assert(!slots.has(framework.id), `framework ${framework.id} appears once in a snapshot`);
    const eligible = isEligible(framework, snapshot.offersOutstandingPerFrameworkMax, skipped);
    slots.set(framework.id, {
      framework,
      eligible,
      offersOutstanding: framework.offersOutstanding,
    });
    const role = framework.role;
    eligibleByRole.set(role, (eligibleByRole.get(role) ?? 0) + (eligible ? 1 : 0));
    roleAllocations.set(
      role,
      (roleAllocations.get(role) ?? Resources.empty).add(framework.allocation.scalars()),
    );
    let sorter = frameworkSorters.get(role);
    if (!sorter) {
      sorter = sorterFactory(snapshot.total, rng);
      frameworkSorters.set(role, sorter);
    }
    sorter.add(framework.id, 1, framework.allocation.scalars());
  }
  const roleSorter = sorterFactory(snapshot.total, rng);
  for (const [role, allocation] of roleAllocations) {
    roleSorter.add(role, snapshot.weights.get(role) ?? 1, allocation);
  }
  return { snapshot, roleSorter, frameworkSorters, slots, eligibleByRole, skipped };
}

function isEligible(
  framework: AllocatorFramework,
  offersMax: number,
  skipped: Record<SkipReason, number>,
): boolean {
  if (!framework.active) {
    skipped[SkipReason.Inactive]++;
    return false;
  }
  if (framework.suppressed) {
    skipped[SkipReason.Suppressed]++;
    return false;
  }
  if (framework.offersOutstanding >= offersMax) {
    skipped[SkipReason.OfferLimit]++;
    return false;
  }
  return true;
}

/** Roles in sorter order, then frameworks in their role's order: the first that may take the agent. */
function pickFramework(run: RunState, agent: AllocatorAgent): FrameworkSlot | undefined {
  for (const role of run.roleSorter.sort()) {
    if ((run.eligibleByRole.get(role) ?? 0) === 0) continue;
    const sorter = run.frameworkSorters.get(role);
    assert(sorter, `role ${role} has a framework sorter`);
    for (const frameworkId of sorter.sort()) {
      const slot = run.slots.get(frameworkId);
      assert(slot, `framework ${frameworkId} has a slot`);
      if (!slot.eligible) continue;
      if (isFiltered(slot.framework, agent, run.snapshot.nowMs)) {
        run.skipped[SkipReason.Filtered]++;
        continue;
      }
      if (slot.framework.holdsOffersOn?.has(agent.id)) {
        run.skipped[SkipReason.HoldsOffer]++;
        continue;
      }
      return slot;
    }
  }
  return undefined;
}

function isFiltered(framework: AllocatorFramework, agent: AllocatorAgent, nowMs: number): boolean {
  if (framework.filters.size === 0) return false;
  const filter = framework.filters.get(agent.id);
  if (!filter || filter.expiresAtMs <= nowMs) return false;
  // Filtered only if nothing new is on offer (Mesos: refused resources contain the new ones).
  return filter.resources.contains(agent.available);
}

function planOffer(run: RunState, slot: FrameworkSlot, agent: AllocatorAgent): PlannedOffer {
  const role = slot.framework.role;
  const resources = agent.available;
  assert(!resources.isEmpty(), `offer on ${agent.id} is not empty`);
  const scalars = resources.scalars();
  run.roleSorter.allocated(role, scalars);
  run.frameworkSorters.get(role)!.allocated(slot.framework.id, scalars);
  slot.offersOutstanding++;
  assert(
    slot.offersOutstanding <= run.snapshot.offersOutstandingPerFrameworkMax,
    `framework ${slot.framework.id} within its offer bound`,
  );
  if (slot.offersOutstanding === run.snapshot.offersOutstandingPerFrameworkMax) {
    slot.eligible = false;
    run.eligibleByRole.set(role, run.eligibleByRole.get(role)! - 1);
    run.skipped[SkipReason.OfferLimit]++;
  }
  return { frameworkId: slot.framework.id, agentId: agent.id, role, resources };
}

function meetsMinimum(available: Resources, minimums: readonly Resources[]): boolean {
  if (available.isEmpty()) return false;
  if (minimums.length === 0) return true;
  return minimums.some((minimum) => available.contains(minimum));
}

function emptySkips(): Record<SkipReason, number> {
  return {
    below_minimum: 0,
    filtered: 0,
    no_framework: 0,
    suppressed: 0,
    inactive: 0,
    offer_limit: 0,
    holds_offer: 0,
  };
}

/** Mesos's default `--min_allocatable_resources`: cpus:0.01|mem:32. */
export const defaultMinAllocatable: readonly Resources[] = [
  Resources.of({ cpus: 0.01 }),
  Resources.of({ mem: 32 }),
];
