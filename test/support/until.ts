/** Generous: tests run real processes on a two-core machine shared with other test runs. */
export const UNTIL_DEADLINE_MS = 60_000;
const POLL_MS = 25;

/**
 * Polls `probe` (sync or async) until it gives a value (not undefined or false) and returns
 * it; throws naming `what` once the deadline has passed. Tests wait for conditions this way,
 * never for fixed times.
 */
export async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  deadlineMs = UNTIL_DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
