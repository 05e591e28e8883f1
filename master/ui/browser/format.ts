import type { Resources } from './json.js';

/** Figures as people read them. Pure functions of their inputs. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

export function bytes(value: number | undefined): string {
  if (value === undefined) return '—';
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${unit === 0 ? scaled : scaled.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** `mem` and `disk` are MiB in the API. */
export function mebibytes(value: number | undefined): string {
  return value === undefined ? '—' : bytes(value * 1024 * 1024);
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Fuel is an instruction budget: big integers, grouped. */
export function count(value: number | undefined): string {
  return value === undefined ? '—' : Math.round(value).toLocaleString('en-US');
}

export function decimal(value: number | undefined): string {
  if (value === undefined) return '—';
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0+$/, '');
}

export function time(ms: number | undefined): string {
  return ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** `cpus 2 · mem 1.0 GiB · disk — · ports 31000-31099`: the usual names first. */
export function resourceSummary(resources: Resources): string {
  const parts: string[] = [];
  const order = ['cpus', 'mem', 'disk', 'fuel'];
  const names = [...resources.scalars.keys()].sort(
    (left, right) => rank(order, left) - rank(order, right) || left.localeCompare(right),
  );
  for (const name of names) parts.push(`${name} ${scalar(name, resources.scalars.get(name))}`);
  for (const [name, ranges] of resources.ranges)
    parts.push(`${name} ${ranges.map(([begin, end]) => `${begin}-${end}`).join(',')}`);
  return parts.length === 0 ? '—' : parts.join(' · ');
}

export function scalar(name: string, value: number | undefined): string {
  if (name === 'mem' || name === 'disk') return mebibytes(value);
  if (name === 'fuel') return count(value);
  return decimal(value);
}

function rank(order: readonly string[], name: string): number {
  const index = order.indexOf(name);
  return index === -1 ? order.length : index;
}

/** A task or job state as a CSS class: finished green, failed red, waiting amber. */
export function stateClass(state: string): string {
  const upper = state.toUpperCase();
  if (/FAILED|ERROR|LOST|KILLED|GONE|DROPPED|UNREACHABLE/.test(upper)) return 'state bad';
  if (/FINISHED|RUNNING|ACTIVE/.test(upper)) return 'state good';
  return 'state pending';
}
