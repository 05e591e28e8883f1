import { assert } from '../../../../../lib/assert.js';
import {
  cfsPeriodUs,
  cfsQuotaUsMin,
  cpuSharesMin,
  cpuSharesPerCpu,
  cpuWeightMax,
  cpuWeightMin,
  cpuWeightPerCpu,
} from '../../limits.js';
import { parseKeyedCounters, parseSingleNumber } from '../stats.js';
import type { Subsystem } from '../subsystem.js';

/** v1 cpu.shares proportional to cpus (Mesos: 1024 per cpu). */
export function cpuShares(cpus: number): number {
  assert(cpus > 0, 'cpus must be positive');
  return Math.max(cpuSharesMin, Math.round(cpus * cpuSharesPerCpu));
}

/** v2 cpu.weight proportional to cpus, clamped to the kernel's range. */
export function cpuWeight(cpus: number): number {
  assert(cpus > 0, 'cpus must be positive');
  return Math.min(cpuWeightMax, Math.max(cpuWeightMin, Math.round(cpus * cpuWeightPerCpu)));
}

/** CFS quota per period so the task gets at most `cpus` CPUs of time. */
export function cfsQuotaUs(cpus: number): number {
  assert(cpus > 0, 'cpus must be positive');
  return Math.max(cfsQuotaUsMin, Math.round(cpus * cfsPeriodUs));
}

export const cpuSubsystem: Subsystem = {
  name: 'cpu',
  v1Controllers: ['cpu', 'cpuacct'],
  v2Controller: 'cpu',
  async prepare(view, limits) {
    if (view.version === 'v1') {
      await view.write('cpu', 'cpu.shares', String(cpuShares(limits.cpus)));
      if (limits.cfsQuota) {
        await view.write('cpu', 'cpu.cfs_period_us', String(cfsPeriodUs));
        await view.write('cpu', 'cpu.cfs_quota_us', String(cfsQuotaUs(limits.cpus)));
      }
      return;
    }
    await view.write('cpu', 'cpu.weight', String(cpuWeight(limits.cpus)));
    const quota = limits.cfsQuota ? String(cfsQuotaUs(limits.cpus)) : 'max';
    await view.write('cpu', 'cpu.max', `${quota} ${cfsPeriodUs}`);
  },
  async usage(view) {
    if (view.version === 'v1') {
      const nanoseconds = parseSingleNumber((await view.read('cpuacct', 'cpuacct.usage')) ?? '');
      return nanoseconds === undefined ? {} : { cpuTimeMs: nanoseconds / 1e6 };
    }
    // cpu.stat is a core file in v2: present even where the cpu controller is not enabled.
    const stat = parseKeyedCounters((await view.read('cpu', 'cpu.stat')) ?? '');
    const microseconds = stat.get('usage_usec');
    return microseconds === undefined ? {} : { cpuTimeMs: microseconds / 1e3 };
  },
};
