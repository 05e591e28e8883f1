/**
 * Freezing a cgroup so nothing in it can fork while we SIGKILL its processes: v1's freezer
 * hierarchy, or v2's core cgroup.freeze file. Only the kill path uses it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freezeTimeoutMs } from '../../limits.js';
import type { CgroupFs } from '../fs.js';
import { parseKeyedCounters } from '../stats.js';

const FREEZE_POLL_MS = 5;

async function waitUntil(check: () => Promise<boolean>): Promise<boolean> {
  for (let waitedMs = 0; waitedMs < freezeTimeoutMs; waitedMs += FREEZE_POLL_MS) {
    if (await check()) return true;
    await sleep(FREEZE_POLL_MS);
  }
  return check();
}

/** Resolves true once frozen; false when it did not settle in time (the caller kills anyway). */
export async function freezeV1(fs: CgroupFs, freezerDir: string): Promise<boolean> {
  await fs.write(`${freezerDir}/freezer.state`, 'FROZEN');
  return waitUntil(
    async () => (await fs.read(`${freezerDir}/freezer.state`))?.trim() !== 'FREEZING',
  );
}

export async function thawV1(fs: CgroupFs, freezerDir: string): Promise<void> {
  await fs.write(`${freezerDir}/freezer.state`, 'THAWED');
}

export async function freezeV2(fs: CgroupFs, dir: string): Promise<boolean> {
  await fs.write(`${dir}/cgroup.freeze`, '1');
  return waitUntil(async () => {
    const events = parseKeyedCounters((await fs.read(`${dir}/cgroup.events`)) ?? '');
    return events.get('frozen') === 1 || events.get('populated') === 0;
  });
}

export async function thawV2(fs: CgroupFs, dir: string): Promise<void> {
  await fs.write(`${dir}/cgroup.freeze`, '0');
}
