import { assert } from '../../lib/assert.js';

/**
 * A seeded pseudo-random generator (mulberry32): the core never calls Math.random, so every
 * shuffle and tie-break can be replayed from its seed in a postmortem or a failing test.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). */
  below(bound: number): number;
}

export function seededRng(seed: number): Rng {
  assert(Number.isInteger(seed), 'an rng seed is an integer');
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    below(bound) {
      assert(Number.isInteger(bound) && bound > 0, 'rng bound is a positive integer');
      return Math.floor(next() * bound);
    },
  };
}

/** Fisher-Yates, in place, driven by the given generator. */
export function shuffleInPlace<T>(items: T[], rng: Rng): void {
  for (let index = items.length - 1; index > 0; index--) {
    const other = rng.below(index + 1);
    const kept = items[index]!;
    items[index] = items[other]!;
    items[other] = kept;
  }
}

/** Mixes two integers into a new 32-bit seed (allocation run seeds: base seed and run number). */
export function mixSeed(base: number, salt: number): number {
  let hash = Math.imul((base ^ 0x9e3779b9) >>> 0, 0x85ebca6b);
  hash = Math.imul(hash ^ (salt >>> 0) ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
