/**
 * Reading the master's JSON without trusting its shape: every accessor takes `unknown` and
 * answers a typed value or a fallback, so an unexpected field never throws in the middle of a
 * render (the page shows what it could read).
 */

export type JsonObject = { readonly [key: string]: unknown };

const EMPTY: JsonObject = Object.freeze({});

export function object(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : EMPTY;
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

export function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function flag(value: unknown): boolean {
  return value === true;
}

/** Scalars by name (cpus, mem, disk, fuel) and ranges as [begin, end] pairs (ports). */
export interface Resources {
  readonly scalars: ReadonlyMap<string, number>;
  readonly ranges: ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>;
}

export function resources(value: unknown): Resources {
  const scalars = new Map<string, number>();
  const ranges = new Map<string, Array<readonly [number, number]>>();
  for (const [name, entry] of Object.entries(object(value))) {
    const scalar = number(entry);
    if (scalar !== undefined) {
      scalars.set(name, scalar);
      continue;
    }
    const pairs: Array<readonly [number, number]> = [];
    for (const pair of list(entry)) {
      const [begin, end] = list(pair).map(number);
      if (begin !== undefined && end !== undefined) pairs.push([begin, end]);
    }
    ranges.set(name, pairs);
  }
  return { scalars, ranges };
}

/** `{ "zone": "edge-1" }` as sorted name/value pairs. */
export function attributes(value: unknown): ReadonlyArray<readonly [string, string]> {
  return Object.entries(object(value))
    .map(([name, entry]): readonly [string, string] => [
      name,
      typeof entry === 'string' ? entry : JSON.stringify(entry),
    ])
    .sort(([left], [right]) => left.localeCompare(right));
}
