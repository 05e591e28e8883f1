import type { UnavailableRuntime } from '../../core/messages.js';
import type { Resources } from '../../core/resources.js';
import type { Runtime } from '../../core/tasks.js';

/** Placement of queued jobs on offers, and why a job waits: pure functions, no I/O. */

export interface Placeable {
  readonly id: string;
  readonly runtime: Runtime;
  readonly resources: Resources;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface PlacementOffer {
  readonly id: string;
  readonly agentId: string;
  readonly resources: Resources;
  readonly runtimes: readonly Runtime[];
  readonly attributes: Readonly<Record<string, string>>;
}

export interface PlacementPlan {
  /** Offer id → the jobs it runs, in queue order. */
  readonly byOffer: ReadonlyMap<string, readonly string[]>;
  /** Jobs no offer could take this time. */
  readonly unplaced: readonly string[];
}

export function matchesAttributes(
  wanted: Readonly<Record<string, string>>,
  has: Readonly<Record<string, string>>,
): boolean {
  for (const [name, value] of Object.entries(wanted)) if (has[name] !== value) return false;
  return true;
}

/**
 * Queue order (first come, first placed); each job goes to the fitting offer with the most cpus
 * left (worst fit), so jobs spread over agents instead of piling onto the first. An offer's
 * resources shrink as jobs are placed on it: it is never overcommitted.
 */
export function placeJobs(
  jobs: readonly Placeable[],
  offers: readonly PlacementOffer[],
): PlacementPlan {
  const left = new Map(offers.map((offer) => [offer.id, offer.resources]));
  const byOffer = new Map<string, string[]>();
  const unplaced: string[] = [];
  for (const job of jobs) {
    let best: PlacementOffer | undefined;
    let bestCpusMilli = -1;
    for (const offer of offers) {
      const free = left.get(offer.id)!;
      if (!canRun(job, offer, free)) continue;
      const cpusMilli = free.scalarMilli('cpus');
      if (cpusMilli > bestCpusMilli) {
        best = offer;
        bestCpusMilli = cpusMilli;
      }
    }
    if (!best) {
      unplaced.push(job.id);
      continue;
    }
    left.set(best.id, left.get(best.id)!.subtract(job.resources));
    const placed = byOffer.get(best.id) ?? [];
    placed.push(job.id);
    byOffer.set(best.id, placed);
  }
  return { byOffer, unplaced };
}

function canRun(job: Placeable, offer: PlacementOffer, free: Resources): boolean {
  return (
    offer.runtimes.includes(job.runtime) &&
    matchesAttributes(job.attributes, offer.attributes) &&
    free.contains(job.resources)
  );
}

/** What the explanation needs to know of an agent. */
export interface AgentForExplanation {
  readonly id: string;
  readonly hostname: string;
  readonly active: boolean;
  readonly total: Resources;
  readonly runtimes: readonly Runtime[];
  readonly unavailableRuntimes?: readonly UnavailableRuntime[];
  readonly attributes: Readonly<Record<string, string>>;
}

export type WaitingCode =
  | 'no_agents'
  | 'runtime_unavailable'
  | 'attributes_unmatched'
  | 'too_large'
  | 'waiting_for_resources';

export interface WaitingReason {
  readonly code: WaitingCode;
  readonly message: string;
}

/**
 * Why a queued job is not running yet, checked against the connected agents in the order a user
 * would fix it: no agents at all, none with the runtime, none with the attributes, none large
 * enough; otherwise the agents that could run it are busy.
 */
export function explainWaiting(
  job: Placeable,
  agents: Iterable<AgentForExplanation>,
): WaitingReason {
  const active = [...agents].filter((agent) => agent.active);
  if (active.length === 0)
    return { code: 'no_agents', message: 'no agent is connected to the master' };
  const withRuntime = active.filter((agent) => agent.runtimes.includes(job.runtime));
  if (withRuntime.length === 0) return runtimeMissing(job.runtime, active);
  const matching = withRuntime.filter((agent) =>
    matchesAttributes(job.attributes, agent.attributes),
  );
  if (matching.length === 0) {
    const wanted = Object.entries(job.attributes)
      .map(([name, value]) => `${name}:${value}`)
      .join(';');
    return {
      code: 'attributes_unmatched',
      message: `no ${job.runtime} agent has the attributes ${wanted}`,
    };
  }
  const large = matching.filter((agent) => agent.total.contains(job.resources));
  if (large.length === 0) {
    const largest = matching.map((agent) => agent.total.scalars().toString()).slice(0, 3);
    return {
      code: 'too_large',
      message: `no agent is large enough for ${job.resources.toString()} (agents have ${largest.join(' | ')})`,
    };
  }
  return {
    code: 'waiting_for_resources',
    message: `waiting for ${job.resources.toString()} to come free on one of ${large.length} agent(s)`,
  };
}

function runtimeMissing(runtime: Runtime, active: readonly AgentForExplanation[]): WaitingReason {
  const causes = active
    .flatMap((agent) =>
      (agent.unavailableRuntimes ?? [])
        .filter((entry) => entry.runtime === runtime)
        .map((entry) => `${agent.hostname}: ${entry.reason}`),
    )
    .slice(0, 3);
  const why = causes.length > 0 ? ` (${causes.join('; ')})` : '';
  return {
    code: 'runtime_unavailable',
    message: `no connected agent offers the ${runtime} runtime${why}`,
  };
}
