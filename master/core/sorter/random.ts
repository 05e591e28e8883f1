import { assert } from '../../../lib/assert.js';
import type { Resources } from '../resources.js';
import type { Rng } from '../rng.js';
import type { Sorter, SorterFactory } from './sorter.js';

/**
 * Mesos's random sorter: a weighted random order on every `sort()`, ignoring what clients
 * hold. Each client draws an exponential race time with rate `weight` (Efraimidis–Spirakis),
 * so a client of weight 2 comes first twice as often as one of weight 1.
 */
export class RandomSorter implements Sorter {
  private readonly weights = new Map<string, number>();
  private readonly order: string[] = [];

  constructor(private readonly rng: Rng) {}

  add(client: string, weight: number, _allocation: Resources): void {
    assert(!this.weights.has(client), `sorter client ${client} added twice`);
    assert(Number.isFinite(weight) && weight > 0, `weight of ${client} is positive`);
    this.weights.set(client, weight);
  }

  allocated(client: string, _resources: Resources): void {
    assert(this.weights.has(client), `sorter client ${client} is known`);
  }

  sort(): readonly string[] {
    const keyed: { client: string; key: number }[] = [];
    for (const [client, weight] of this.weights) {
      keyed.push({ client, key: -Math.log(1 - this.rng.next()) / weight });
    }
    keyed.sort((left, right) => left.key - right.key);
    this.order.length = 0;
    for (const item of keyed) this.order.push(item.client);
    return this.order;
  }

  share(client: string): number {
    assert(this.weights.has(client), `sorter client ${client} is known`);
    return 0;
  }
}

export const randomSorter: SorterFactory = (_total, rng) => new RandomSorter(rng);
