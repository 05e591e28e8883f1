import type { Resources } from '../resources.js';
import type { Rng } from '../rng.js';

/**
 * The fairness policy, separate from the allocation mechanism (as in Mesos's
 * `sorter/sorter.hpp`): clients (roles, or frameworks within a role) in the order they should
 * be offered resources. A sorter lives for one allocation run: the allocator builds it from a
 * snapshot, tells it about every offer it plans, and throws it away.
 */
export interface Sorter {
  /** Adds a client with what it holds now (offered plus used); `weight` > 0. */
  add(client: string, weight: number, allocation: Resources): void;
  /** The client was just given `resources` (an offer planned in this run). */
  allocated(client: string, resources: Resources): void;
  /** Every client, most deserving first. Owned by the sorter: read it before the next call. */
  sort(): readonly string[];
  /** The client's current share (weighted); for tests and metrics. */
  share(client: string): number;
}

/** Builds a sorter for one run: `total` is the cluster's total (DRF denominators). */
export type SorterFactory = (total: Resources, rng: Rng) => Sorter;
