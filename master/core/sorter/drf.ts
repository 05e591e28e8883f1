import { assert } from '../../../lib/assert.js';
import { dominantShare, type Resources } from '../resources.js';
import type { Rng } from '../rng.js';
import type { Sorter, SorterFactory } from './sorter.js';

interface Entry {
  readonly client: string;
  readonly weight: number;
  /** A seeded random number: equal shares are broken differently in every run, yet replayably. */
  readonly tiebreak: number;
  /** Milli-units per scalar kind, updated in place: the hot path allocates nothing. */
  readonly allocationMilli: Map<string, number>;
  share: number;
}

/**
 * Dominant Resource Fairness: the client with the smallest dominant share (divided by its
 * weight) comes first. Entries stay sorted; an allocation moves one entry right by binary
 * search, so a run over N agents costs O(N · clients) memory moves at worst, not N sorts.
 */
export class DrfSorter implements Sorter {
  private readonly entries: Entry[] = [];
  private readonly byClient = new Map<string, Entry>();
  /** Client names in the same order as `entries`, spliced alongside: `sort()` copies nothing. */
  private readonly order: string[] = [];

  constructor(
    private readonly total: Resources,
    private readonly rng: Rng,
  ) {}

  add(client: string, weight: number, allocation: Resources): void {
    assert(!this.byClient.has(client), `sorter client ${client} added twice`);
    assert(Number.isFinite(weight) && weight > 0, `weight of ${client} is positive`);
    const entry: Entry = {
      client,
      weight,
      tiebreak: this.rng.next(),
      allocationMilli: new Map(allocation.scalarEntries()),
      share: dominantShare(allocation, this.total) / weight,
    };
    this.byClient.set(client, entry);
    this.insertAt(this.insertionIndex(entry), entry);
  }

  allocated(client: string, resources: Resources): void {
    const entry = this.byClient.get(client);
    assert(entry, `sorter client ${client} is known`);
    const index = this.indexOf(entry);
    assert(this.entries[index] === entry, `sorter entry of ${client} found by its key`);
    const shareBefore = entry.share;
    for (const [name, milli] of resources.scalarEntries()) {
      const held = (entry.allocationMilli.get(name) ?? 0) + milli;
      entry.allocationMilli.set(name, held);
      const totalMilli = this.total.scalarMilli(name);
      if (totalMilli > 0) entry.share = Math.max(entry.share, held / totalMilli / entry.weight);
    }
    assert(entry.share >= shareBefore, 'an allocation never lowers a share');
    this.moveRight(index, entry);
  }

  /** The entry's key grew: shift the entries it now passes one step left, then place it. */
  private moveRight(index: number, entry: Entry): void {
    let target = index;
    let low = index + 1;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(this.entries[middle]!, entry) <= 0) low = middle + 1;
      else high = middle;
    }
    target = low - 1;
    for (let cursor = index; cursor < target; cursor++) {
      this.entries[cursor] = this.entries[cursor + 1]!;
      this.order[cursor] = this.order[cursor + 1]!;
    }
    this.entries[target] = entry;
    this.order[target] = entry.client;
  }

  sort(): readonly string[] {
    return this.order;
  }

  private insertAt(index: number, entry: Entry): void {
    this.entries.splice(index, 0, entry);
    this.order.splice(index, 0, entry.client);
  }

  share(client: string): number {
    const entry = this.byClient.get(client);
    assert(entry, `sorter client ${client} is known`);
    return entry.share;
  }

  /** First index whose entry sorts after `entry`. */
  private insertionIndex(entry: Entry): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(this.entries[middle]!, entry) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private indexOf(entry: Entry): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(this.entries[middle]!, entry) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function compare(left: Entry, right: Entry): number {
  if (left.share !== right.share) return left.share - right.share;
  if (left.tiebreak !== right.tiebreak) return left.tiebreak - right.tiebreak;
  return left.client < right.client ? -1 : left.client > right.client ? 1 : 0;
}

export const drfSorter: SorterFactory = (total, rng) => new DrfSorter(total, rng);
