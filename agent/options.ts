import { cpus, totalmem } from 'node:os';
import { statfsSync } from 'node:fs';
import { err, ok, type Result } from '../lib/result.js';
import type { Attribute, Resource } from '../protocol/messages/common.js';
import type { AgentCapacity } from './core/tasks.js';
import { agentLimits } from './limits.js';

const MiB = 1024 * 1024;

/** "cpus:2;mem:4096;disk:10000" → scalars by name (Mesos's --resources text form). */
export function parseResources(text: string): Result<Record<string, number>, string> {
  const scalars: Record<string, number> = {};
  for (const part of text
    .split(';')
    .map((each) => each.trim())
    .filter(Boolean)) {
    const match = /^([a-z][a-z0-9_-]*)\s*:\s*(\d+(?:\.\d+)?)$/i.exec(part);
    if (!match) return err(`not a resource: "${part}" (expected name:number, e.g. cpus:2)`);
    scalars[match[1]!] = Number(match[2]);
  }
  return ok(scalars);
}

/** "zone:edge-1;rack:r1" → text attributes (a number stays text, as Mesos keeps `rack:1` a scalar). */
export function parseAttributes(text: string): Result<Attribute[], string> {
  const attributes: Attribute[] = [];
  for (const part of text
    .split(';')
    .map((each) => each.trim())
    .filter(Boolean)) {
    const match = /^([a-z][a-z0-9_.-]*)\s*:\s*(\S.*)$/i.exec(part);
    if (!match) return err(`not an attribute: "${part}" (expected name:value, e.g. zone:edge-1)`);
    const value = match[2]!.trim();
    attributes.push(
      /^\d+(\.\d+)?$/.test(value)
        ? { name: match[1]!, type: 'SCALAR', scalar: { value: Number(value) } }
        : { name: match[1]!, type: 'TEXT', text: { value } },
    );
  }
  return ok(attributes);
}

/**
 * What the host has, minus the agent's reserve (agentLimits.reserveCpus, reserveMemMiB), each
 * overridable by `--resources`. Disk is the work dir's free space.
 */
export function defaultCapacity(
  workDir: string,
  overrides: Readonly<Record<string, number>> = {},
): AgentCapacity {
  const hostCpus = Math.max(0, cpus().length - agentLimits.reserveCpus);
  const hostMemMiB = Math.max(0, Math.floor(totalmem() / MiB) - agentLimits.reserveMemMiB);
  let diskMiB: number = agentLimits.defaultDiskMiB;
  try {
    const stats = statfsSync(workDir);
    diskMiB = Math.floor((stats.bavail * stats.bsize) / MiB);
  } catch {
    // Not readable here: the named default stands.
  }
  return {
    cpus: overrides['cpus'] ?? hostCpus,
    memMiB: overrides['mem'] ?? hostMemMiB,
    diskMiB: overrides['disk'] ?? diskMiB,
  };
}

export function capacityResources(capacity: AgentCapacity): Resource[] {
  const scalar = (name: string, value: number): Resource => ({
    name,
    type: 'SCALAR',
    scalar: { value: Math.floor(value * 1000) / 1000 },
  });
  return [
    scalar('cpus', capacity.cpus),
    scalar('mem', capacity.memMiB),
    scalar('disk', capacity.diskMiB),
  ];
}
