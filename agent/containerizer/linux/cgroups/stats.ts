/** Parsers for the cgroup files we read: flat "key value" files and single numbers. Pure. */

/** `memory.events`, `cpu.stat`, `memory.oom_control`, `memory.stat`: one "key value" per line. */
export function parseKeyedCounters(text: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined || extra !== undefined) continue;
    const number = Number(value);
    if (Number.isFinite(number)) counters.set(key, number);
  }
  return counters;
}

/** A single number, or `max` (v2's "no limit") as Infinity; undefined when unreadable. */
export function parseSingleNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === 'max') return Infinity;
  if (!/^-?\d+$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** `cgroup.procs`: one pid per line. */
export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}
