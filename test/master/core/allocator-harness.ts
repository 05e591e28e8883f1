import { assert } from '../../../lib/assert.js';
import {
  allocate,
  defaultMinAllocatable,
  type AllocationPlan,
  type OfferFilter,
  type PlannedOffer,
} from '../../../master/core/allocator.js';
import { Resources } from '../../../master/core/resources.js';
import { drfSorter } from '../../../master/core/sorter/drf.js';
import type { SorterFactory } from '../../../master/core/sorter/sorter.js';

interface HarnessAgent {
  readonly id: string;
  readonly total: Resources;
  offered: Resources;
  used: Resources;
}

interface HarnessFramework {
  readonly id: string;
  readonly role: string;
  active: boolean;
  suppressed: boolean;
  offered: Resources;
  used: Resources;
  offers: PlannedOffer[];
  readonly filters: Map<string, OfferFilter>;
}

/**
 * A tiny in-memory cluster around the pure allocator (Nomad's scheduler Harness idea): it
 * builds snapshots, records every plan, and applies plans the way the master core does, so
 * tests assert on plans, not on side effects.
 */
export class AllocatorHarness {
  readonly plans: AllocationPlan[] = [];
  readonly agents = new Map<string, HarnessAgent>();
  readonly frameworks = new Map<string, HarnessFramework>();
  readonly weights = new Map<string, number>();
  nowMs = 0;
  private runs = 0;
  private readonly offerNumbers = new Map<PlannedOffer, number>();

  constructor(
    readonly seed = 1,
    readonly offersMax = 1000,
  ) {}

  addAgent(id: string, total: Resources): void {
    this.agents.set(id, { id, total, offered: Resources.empty, used: Resources.empty });
  }

  addFramework(id: string, role = 'default'): HarnessFramework {
    const framework: HarnessFramework = {
      id,
      role,
      active: true,
      suppressed: false,
      offered: Resources.empty,
      used: Resources.empty,
      offers: [],
      filters: new Map(),
    };
    this.frameworks.set(id, framework);
    return framework;
  }

  runCycle(sorter: SorterFactory = drfSorter): AllocationPlan {
    const agents = [...this.agents.values()].map((agent) => ({
      id: agent.id,
      available: agent.total.subtract(agent.offered).subtract(agent.used),
    }));
    const frameworks = [...this.frameworks.values()].map((framework) => ({
      id: framework.id,
      role: framework.role,
      allocation: framework.offered.add(framework.used),
      active: framework.active,
      suppressed: framework.suppressed,
      offersOutstanding: framework.offers.length,
      filters: framework.filters,
    }));
    const total = [...this.agents.values()].reduce(
      (sum, agent) => sum.add(agent.total.scalars()),
      Resources.empty,
    );
    const plan = allocate(
      {
        agents,
        frameworks,
        weights: this.weights,
        total,
        nowMs: this.nowMs,
        seed: this.seed * 7919 + this.runs++,
        offersOutstandingPerFrameworkMax: this.offersMax,
        minAllocatable: defaultMinAllocatable,
      },
      sorter,
    );
    this.plans.push(plan);
    for (const offer of plan.offers) this.applyOffer(offer);
    return plan;
  }

  /** Launches `task` from the offer (if it fits) and returns the rest with a filter. */
  answer(offer: PlannedOffer, task: Resources | undefined, refuseMs = 0): boolean {
    const framework = this.frameworks.get(offer.frameworkId)!;
    const agent = this.agents.get(offer.agentId)!;
    const index = framework.offers.indexOf(offer);
    assert(index >= 0, 'answering an outstanding offer');
    framework.offers.splice(index, 1);
    framework.offered = framework.offered.subtract(offer.resources.scalars());
    agent.offered = agent.offered.subtract(offer.resources);
    const launched = task !== undefined && offer.resources.contains(task);
    const rest = launched ? offer.resources.subtract(task) : offer.resources;
    if (launched) {
      agent.used = agent.used.add(task);
      framework.used = framework.used.add(task.scalars());
    }
    if (refuseMs > 0 && !rest.isEmpty()) {
      framework.filters.set(agent.id, { resources: rest, expiresAtMs: this.nowMs + refuseMs });
    }
    return launched;
  }

  /** Every outstanding offer of every framework, in a stable order. */
  outstanding(): PlannedOffer[] {
    return [...this.frameworks.values()].flatMap((framework) => [...framework.offers]);
  }

  /** offered + used ⊆ total on every agent, and the books of agents and frameworks agree. */
  checkNoOverAllocation(): void {
    let agentsHeld = Resources.empty;
    for (const agent of this.agents.values()) {
      assert(
        agent.total.contains(agent.offered.add(agent.used)),
        `agent ${agent.id} over-allocated`,
      );
      agentsHeld = agentsHeld.add(agent.offered.scalars()).add(agent.used.scalars());
    }
    let frameworksHeld = Resources.empty;
    for (const framework of this.frameworks.values()) {
      frameworksHeld = frameworksHeld.add(framework.offered).add(framework.used);
    }
    assert(agentsHeld.equals(frameworksHeld), 'agents and frameworks agree on what is held');
  }

  private applyOffer(offer: PlannedOffer): void {
    const agent = this.agents.get(offer.agentId)!;
    const framework = this.frameworks.get(offer.frameworkId)!;
    agent.offered = agent.offered.add(offer.resources);
    assert(agent.total.contains(agent.offered.add(agent.used)), `plan over-allocates ${agent.id}`);
    framework.offered = framework.offered.add(offer.resources.scalars());
    framework.offers.push(offer);
    this.offerNumbers.set(offer, this.offerNumbers.size);
  }

  /** When the offer was made, relative to the others (0 = first). */
  offerOrder(offer: PlannedOffer): number {
    const order = this.offerNumbers.get(offer);
    assert(order !== undefined, 'offer was planned by this harness');
    return order;
  }
}
