import { assert } from '../../../../../lib/assert.js';
import { memBytesMin } from '../../limits.js';
import { parseKeyedCounters, parseSingleNumber } from '../stats.js';
import type { CgroupUsage, Subsystem } from '../subsystem.js';

/** The hard limit a task gets: its `mem`, but never below what a process needs to start. */
export function memoryLimitBytes(memBytes: number): number {
  assert(memBytes > 0, 'memory must be positive');
  return Math.max(memBytesMin, Math.floor(memBytes));
}

export const memorySubsystem: Subsystem = {
  name: 'memory',
  v1Controllers: ['memory'],
  v2Controller: 'memory',
  async prepare(view, limits) {
    const bytes = String(memoryLimitBytes(limits.memBytes));
    if (view.version === 'v1') {
      await view.write('memory', 'memory.limit_in_bytes', bytes);
      // memsw (memory + swap) must be set after the memory limit, never below it; absent when
      // the kernel has no swap accounting.
      if ((await view.read('memory', 'memory.memsw.limit_in_bytes')) !== undefined) {
        await view.write('memory', 'memory.memsw.limit_in_bytes', bytes);
      }
      return;
    }
    await view.write('memory', 'memory.max', bytes);
    if ((await view.read('memory', 'memory.swap.max')) !== undefined) {
      await view.write('memory', 'memory.swap.max', '0');
    }
  },
  async usage(view) {
    if (view.version === 'v1') {
      const current = parseSingleNumber((await view.read('memory', 'memory.usage_in_bytes')) ?? '');
      const peak = parseSingleNumber(
        (await view.read('memory', 'memory.max_usage_in_bytes')) ?? '',
      );
      const control = parseKeyedCounters((await view.read('memory', 'memory.oom_control')) ?? '');
      return compact(current, peak, control.get('oom_kill'));
    }
    const current = parseSingleNumber((await view.read('memory', 'memory.current')) ?? '');
    // memory.peak exists from Linux 5.19; before that the best we have is the current figure.
    const peak = parseSingleNumber((await view.read('memory', 'memory.peak')) ?? '') ?? current;
    const events = parseKeyedCounters((await view.read('memory', 'memory.events')) ?? '');
    return compact(current, peak, events.get('oom_kill'));
  },
};

function compact(
  current: number | undefined,
  peak: number | undefined,
  oomKills: number | undefined,
): Partial<CgroupUsage> {
  const usage: { -readonly [K in keyof CgroupUsage]?: CgroupUsage[K] } = {};
  if (current !== undefined) usage.memoryBytes = current;
  if (peak !== undefined) usage.peakMemoryBytes = peak;
  if (oomKills !== undefined) usage.oomKills = oomKills;
  return usage;
}
