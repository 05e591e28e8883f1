import { fieldLimits } from '../../protocol/limits.js';
import type { UnavailableRuntime } from '../../protocol/messages/agent.js';
import type { Runtime } from '../containerizer/containerizer.js';

/** Every runtime an agent knows of; the ones it does not offer are listed with a reason. */
export const knownRuntimes: readonly Runtime[] = ['wasm', 'linux'];

/**
 * Why each runtime the agent does not offer is missing (pure): `disabled` when the operator's
 * `--runtimes` left it out, else `unsupported` with what the host's check found. The reason is
 * one line, at most the protocol's messageCharsMax characters.
 */
export function unavailableRuntimes(
  wanted: readonly Runtime[] | undefined,
  offered: ReadonlySet<Runtime>,
  unsupportedReasons: Readonly<Partial<Record<Runtime, readonly string[]>>>,
): UnavailableRuntime[] {
  const result: UnavailableRuntime[] = [];
  for (const runtime of knownRuntimes) {
    if (offered.has(runtime)) continue;
    if (wanted !== undefined && !wanted.includes(runtime)) {
      result.push({
        runtime,
        cause: 'disabled',
        reason: oneLine(`not in the agent's runtimes (--runtimes ${wanted.join(',')})`),
      });
      continue;
    }
    const reasons = unsupportedReasons[runtime] ?? [];
    result.push({
      runtime,
      cause: 'unsupported',
      reason: oneLine(
        reasons.length > 0 ? reasons.join('; ') : `this host cannot run ${runtime} tasks`,
      ),
    });
  }
  return result;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const max = fieldLimits.messageCharsMax;
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
