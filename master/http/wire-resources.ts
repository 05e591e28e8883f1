import { err, ok, type Result } from '../../lib/result.js';
import type { Resource } from '../../protocol/index.js';
import { parseResources, type Resources } from '../core/resources.js';

/**
 * Mesos `Resource` lists (protocol/messages/common.ts) to and from the core's exact resource
 * sets. The one mapping for both channels: what an agent registers and reports, what a framework
 * asks for in a LAUNCH, and what offers and LAUNCH events carry back out. Runs once per message,
 * so it builds the spec in a single pass and adds nothing beyond the result.
 */

/**
 * A wire list → an exact resource set: SCALAR and RANGES only, each name once, values checked
 * by `parseResources`. The error is a sentence for the caller to wrap in its channel's refusal.
 */
export function resourcesFromWire(list: readonly Resource[]): Result<Resources, string> {
  const spec: Record<string, number | (readonly [number, number])[]> = {};
  for (const resource of list) {
    if (Object.hasOwn(spec, resource.name))
      return err(`resource '${resource.name}' is listed twice`);
    if (resource.type === 'SCALAR') {
      if (!resource.scalar) return err(`SCALAR resource '${resource.name}' has no 'scalar'`);
      spec[resource.name] = resource.scalar.value;
    } else if (resource.type === 'RANGES') {
      // As Mesos: a RANGES resource without `ranges` is invalid, not empty.
      if (!resource.ranges) return err(`RANGES resource '${resource.name}' has no 'ranges'`);
      spec[resource.name] = resource.ranges.range.map((range) => [range.begin, range.end] as const);
    } else {
      return err(
        `resource '${resource.name}': ${resource.type} resources are not supported (only SCALAR and RANGES)`,
      );
    }
  }
  const parsed = parseResources(spec);
  return parsed.ok ? ok(parsed.value) : err(parsed.error.message);
}

/** An exact resource set → a wire list: scalars by name, then range lists by name. */
export function resourcesToWire(resources: Resources): Resource[] {
  const plain = resources.toPlain();
  const wire: Resource[] = [];
  for (const [name, value] of Object.entries(plain.scalars))
    wire.push({ name, type: 'SCALAR', scalar: { value } });
  for (const [name, list] of Object.entries(plain.ranges)) {
    wire.push({
      name,
      type: 'RANGES',
      ranges: { range: list.map(([begin, end]) => ({ begin, end })) },
    });
  }
  return wire;
}
