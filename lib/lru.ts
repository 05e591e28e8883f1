import { assert } from './assert.js';

/** A Map bounded by entry count that evicts the least recently used entry. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax > 0, 'LruMap needs a positive bound');
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Returns the evicted entry, if the bound forced one out. */
  set(key: K, value: V): [K, V] | undefined {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size <= this.entriesMax) return undefined;
    const oldest = this.entries.entries().next().value;
    assert(oldest !== undefined, 'a map over its bound has an oldest entry');
    this.entries.delete(oldest[0]);
    return oldest;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }
}
