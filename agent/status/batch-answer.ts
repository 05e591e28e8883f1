import { z } from 'zod';

/** The master's 202 answer to STATUS_UPDATES when it refused some of them (docs/AGENT-CHANNEL.md). */
const RefusedUpdates = z.object({
  refused: z.array(
    z.object({ index: z.number().int().min(0), code: z.string(), message: z.string() }),
  ),
});

/**
 * For each of `count` updates sent in one STATUS_UPDATES call, whether the master took it, from
 * its 202 answer: an empty body means all were; else the listed indexes were refused. An answer
 * that cannot be read counts as none taken (they are resent with the same uuids: at least once).
 */
export function takenUpdates(count: number, answer: string): boolean[] {
  if (answer.trim() === '') return new Array<boolean>(count).fill(true);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    return new Array<boolean>(count).fill(false);
  }
  const read = RefusedUpdates.safeParse(parsed);
  if (!read.success) return new Array<boolean>(count).fill(false);
  const taken = new Array<boolean>(count).fill(true);
  for (const { index } of read.data.refused) if (index < count) taken[index] = false;
  return taken;
}
