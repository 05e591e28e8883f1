import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';

/**
 * Resource sets with exact arithmetic. Scalars are kept as integers in milli-units (Mesos keeps
 * three decimal places), so 0.1 + 0.2 cpus is exactly 0.3 cpus and an agent's available
 * resources never drift. Ranges (`ports`) are inclusive, sorted, non-overlapping and coalesced.
 *
 * A `Resources` value is immutable; every operation returns a new set. Zero scalars and empty
 * range lists are dropped, so two equal sets always have the same representation.
 */

/** Scalars are multiplied by this and rounded: three decimal places, as in Mesos. */
export const SCALAR_MILLI = 1000;
/** The largest scalar accepted (in units, not milli-units): keeps sums exact in doubles. */
export const SCALAR_MAX = 1e12;
/** The largest range bound accepted (ports are 0..65535; other ranges may be wider). */
export const RANGE_BOUND_MAX = 2 ** 32 - 1;

export interface Range {
  /** Inclusive. */
  readonly begin: number;
  /** Inclusive. */
  readonly end: number;
}

/** A friendly literal: a number is a scalar, an array of [begin, end] pairs is a range list. */
export type ResourceSpec = Readonly<
  Record<string, number | readonly (readonly [number, number])[]>
>;

/** The plain form used in the registry, views and tests: scalars in units, ranges as pairs. */
export interface PlainResources {
  readonly scalars: Readonly<Record<string, number>>;
  readonly ranges: Readonly<Record<string, readonly (readonly [number, number])[]>>;
}

export type ResourceError =
  | { readonly code: 'invalid_name'; readonly message: string }
  | { readonly code: 'invalid_scalar'; readonly message: string }
  | { readonly code: 'invalid_range'; readonly message: string };

const RESOURCE_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

export class Resources {
  static readonly empty = new Resources(new Map(), new Map());

  private constructor(
    private readonly scalarsMilli: ReadonlyMap<string, number>,
    private readonly rangeLists: ReadonlyMap<string, readonly Range[]>,
  ) {}

  /** For trusted literals (tests, defaults); input from the network goes through parseResources. */
  static of(spec: ResourceSpec): Resources {
    const parsed = parseResources(spec);
    assert(parsed.ok, `invalid resource literal: ${parsed.ok ? '' : parsed.error.message}`);
    return parsed.value;
  }

  /** Builds from milli-unit scalars directly (no rounding); used by the allocator's bookkeeping. */
  static fromMilli(scalarsMilli: ReadonlyMap<string, number>): Resources {
    const kept = new Map<string, number>();
    for (const [name, milli] of scalarsMilli) {
      assert(Number.isSafeInteger(milli) && milli >= 0, `milli-units of ${name} are a natural`);
      if (milli > 0) kept.set(name, milli);
    }
    return new Resources(kept, new Map());
  }

  /** Normalised parts (checked): the one way in for parsers. */
  static fromParts(
    scalarsMilli: ReadonlyMap<string, number>,
    rangeLists: ReadonlyMap<string, readonly Range[]>,
  ): Resources {
    for (const [name, milli] of scalarsMilli) {
      assert(Number.isSafeInteger(milli) && milli > 0, `milli-units of ${name} are positive`);
    }
    for (const [name, list] of rangeLists) {
      assert(list.length > 0, `range list ${name} is not empty`);
      for (let index = 1; index < list.length; index++) {
        assert(list[index]!.begin > list[index - 1]!.end + 1, `range list ${name} is coalesced`);
      }
      assert(!scalarsMilli.has(name), `${name} is either scalar or ranges`);
    }
    return new Resources(scalarsMilli, rangeLists);
  }

  scalarMilli(name: string): number {
    return this.scalarsMilli.get(name) ?? 0;
  }

  /** In units (e.g. 0.3 cpus); exact to three decimals. */
  scalar(name: string): number {
    return this.scalarMilli(name) / SCALAR_MILLI;
  }

  rangesOf(name: string): readonly Range[] {
    return this.rangeLists.get(name) ?? [];
  }

  /** [name, milli-units] pairs: for hot loops that must not allocate. */
  scalarEntries(): IterableIterator<[string, number]> {
    return this.scalarsMilli.entries();
  }

  scalarNames(): IterableIterator<string> {
    return this.scalarsMilli.keys();
  }

  isEmpty(): boolean {
    return this.scalarsMilli.size === 0 && this.rangeLists.size === 0;
  }

  /** Ranges must be disjoint (one agent's); for sums across agents add `scalars()` instead. */
  add(other: Resources): Resources {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    const scalars = new Map(this.scalarsMilli);
    for (const [name, milli] of other.scalarsMilli)
      scalars.set(name, (scalars.get(name) ?? 0) + milli);
    const ranges = new Map(this.rangeLists);
    for (const [name, list] of other.rangeLists)
      ranges.set(name, addRanges(ranges.get(name) ?? [], list));
    return new Resources(scalars, ranges);
  }

  /** The caller must know `this` contains `other`: going negative is a bug, not an input error. */
  subtract(other: Resources): Resources {
    // The message is built only on failure: subtract is on the allocator's hot path.
    if (!this.contains(other))
      assert(false, `subtracting ${other.toString()} from ${this.toString()}`);
    if (other.isEmpty()) return this;
    const scalars = new Map(this.scalarsMilli);
    for (const [name, milli] of other.scalarsMilli) {
      const left = (scalars.get(name) ?? 0) - milli;
      assert(left >= 0, `scalar ${name} would go negative`);
      if (left === 0) scalars.delete(name);
      else scalars.set(name, left);
    }
    const ranges = new Map(this.rangeLists);
    for (const [name, list] of other.rangeLists) {
      const left = subtractRanges(ranges.get(name) ?? [], list);
      if (left.length === 0) ranges.delete(name);
      else ranges.set(name, left);
    }
    return new Resources(scalars, ranges);
  }

  /** False when adding would put a range value twice (input check before `add`). */
  isDisjointFrom(other: Resources): boolean {
    for (const [name, list] of other.rangeLists) {
      const held = this.rangeLists.get(name) ?? [];
      for (const range of list) {
        if (held.some((mine) => mine.begin <= range.end && range.begin <= mine.end)) return false;
      }
    }
    return true;
  }

  contains(other: Resources): boolean {
    for (const [name, milli] of other.scalarsMilli) {
      if ((this.scalarsMilli.get(name) ?? 0) < milli) return false;
    }
    for (const [name, list] of other.rangeLists) {
      if (!containsRanges(this.rangeLists.get(name) ?? [], list)) return false;
    }
    return true;
  }

  equals(other: Resources): boolean {
    return this.contains(other) && other.contains(this);
  }

  /** Only the scalar part (ranges do not count towards shares or minimum offers). */
  scalars(): Resources {
    return this.rangeLists.size === 0 ? this : new Resources(this.scalarsMilli, new Map());
  }

  toPlain(): PlainResources {
    const scalars: Record<string, number> = {};
    for (const [name, milli] of [...this.scalarsMilli].sort(byName))
      scalars[name] = milli / SCALAR_MILLI;
    const ranges: Record<string, (readonly [number, number])[]> = {};
    for (const [name, list] of [...this.rangeLists].sort(byName)) {
      ranges[name] = list.map((range) => [range.begin, range.end] as const);
    }
    return { scalars, ranges };
  }

  /** Mesos's text form: `cpus:0.5;mem:128;ports:[31000-31009]`. */
  toString(): string {
    const parts = [...this.scalarsMilli]
      .sort(byName)
      .map(([name, milli]) => `${name}:${milli / SCALAR_MILLI}`);
    for (const [name, list] of [...this.rangeLists].sort(byName)) {
      parts.push(`${name}:[${list.map((range) => `${range.begin}-${range.end}`).join(',')}]`);
    }
    return parts.join(';');
  }
}

const byName = (left: readonly [string, unknown], right: readonly [string, unknown]): number =>
  left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0;

/** Validates a resource literal from the edge: names, finite non-negative scalars, sane ranges. */
export function parseResources(spec: ResourceSpec): Result<Resources, ResourceError> {
  const scalars = new Map<string, number>();
  const ranges = new Map<string, readonly Range[]>();
  for (const [name, value] of Object.entries(spec)) {
    if (!RESOURCE_NAME.test(name)) {
      return err({ code: 'invalid_name', message: `resource name "${name}" is not valid` });
    }
    if (typeof value === 'number') {
      const milli = toMilli(name, value);
      if (!milli.ok) return milli;
      if (milli.value > 0) scalars.set(name, milli.value);
      continue;
    }
    const list = parseRangeList(name, value);
    if (!list.ok) return list;
    if (list.value.length > 0) ranges.set(name, list.value);
  }
  return ok(Resources.fromParts(scalars, ranges));
}

/** Plain (registry or view) form back to a set. */
export function resourcesFromPlain(plain: PlainResources): Result<Resources, ResourceError> {
  const spec: Record<string, number | readonly (readonly [number, number])[]> = {};
  for (const [name, value] of Object.entries(plain.scalars)) spec[name] = value;
  for (const [name, value] of Object.entries(plain.ranges)) {
    if (Object.hasOwn(spec, name)) {
      return err({ code: 'invalid_name', message: `resource ${name} is both scalar and ranges` });
    }
    spec[name] = value;
  }
  return parseResources(spec);
}

function toMilli(name: string, value: number): Result<number, ResourceError> {
  if (!Number.isFinite(value) || value < 0 || value > SCALAR_MAX) {
    return err({
      code: 'invalid_scalar',
      message: `${name} must be a number from 0 to ${SCALAR_MAX}, got ${value}`,
    });
  }
  return ok(Math.round(value * SCALAR_MILLI));
}

function parseRangeList(
  name: string,
  pairs: readonly (readonly [number, number])[],
): Result<readonly Range[], ResourceError> {
  const list: Range[] = [];
  for (const [begin, end] of pairs) {
    const valid =
      Number.isInteger(begin) &&
      Number.isInteger(end) &&
      begin >= 0 &&
      end >= begin &&
      end <= RANGE_BOUND_MAX;
    if (!valid) {
      return err({
        code: 'invalid_range',
        message: `${name} range [${begin}-${end}] is not valid`,
      });
    }
    list.push({ begin, end });
  }
  list.sort((left, right) => left.begin - right.begin);
  for (let index = 1; index < list.length; index++) {
    if (list[index]!.begin <= list[index - 1]!.end) {
      return err({ code: 'invalid_range', message: `${name} ranges overlap` });
    }
  }
  return ok(coalesce(list));
}

/** Sorted input → merged where adjacent or overlapping. */
function coalesce(sorted: readonly Range[]): Range[] {
  const merged: Range[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.begin <= last.end + 1) {
      merged[merged.length - 1] = { begin: last.begin, end: Math.max(last.end, range.end) };
    } else {
      merged.push(range);
    }
  }
  return merged;
}

/**
 * Ranges belong to one agent, so the two lists must be disjoint: adding a port twice is a bug
 * (sums across agents use `scalars()`, as Mesos uses scalar quantities for them).
 */
function addRanges(left: readonly Range[], right: readonly Range[]): readonly Range[] {
  if (left.length === 0) return right;
  if (right.length === 0) return left;
  const sorted = [...left, ...right].sort((a, b) => a.begin - b.begin);
  for (let index = 1; index < sorted.length; index++) {
    assert(sorted[index]!.begin > sorted[index - 1]!.end, 'added ranges are disjoint');
  }
  return coalesce(sorted);
}

/** Both normalised; `left` contains `right` (asserted by the caller through contains). */
function subtractRanges(left: readonly Range[], right: readonly Range[]): readonly Range[] {
  let remaining: Range[] = [...left];
  for (const cut of right) {
    const next: Range[] = [];
    for (const range of remaining) {
      if (cut.end < range.begin || cut.begin > range.end) {
        next.push(range);
        continue;
      }
      if (range.begin < cut.begin) next.push({ begin: range.begin, end: cut.begin - 1 });
      if (range.end > cut.end) next.push({ begin: cut.end + 1, end: range.end });
    }
    remaining = next;
  }
  return remaining;
}

/** Both normalised (coalesced), so each needed range must sit inside one held range. */
function containsRanges(held: readonly Range[], needed: readonly Range[]): boolean {
  let cursor = 0;
  for (const range of needed) {
    while (cursor < held.length && held[cursor]!.end < range.begin) cursor++;
    const candidate = held[cursor];
    if (!candidate || candidate.begin > range.begin || candidate.end < range.end) return false;
  }
  return true;
}

/**
 * The dominant share of `allocated` in `total`: the largest fraction over scalar kinds (DRF).
 * Kinds the cluster does not have (total 0) are ignored.
 */
export function dominantShare(allocated: Resources, total: Resources): number {
  let share = 0;
  for (const name of allocated.scalarNames()) {
    const totalMilli = total.scalarMilli(name);
    if (totalMilli === 0) continue;
    share = Math.max(share, allocated.scalarMilli(name) / totalMilli);
  }
  return share;
}
