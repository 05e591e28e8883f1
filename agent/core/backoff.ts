import { assert } from '../../lib/assert.js';

/**
 * Exponential backoff: `baseMs * 2^attempt`, capped at `maxMs`. `jitter` in [0, 1) adds up to
 * half the delay on top, so agents that lost the same master do not reconnect in lockstep.
 * Pure: the caller passes the random draw (Math.random() in the shell, a fixed value in tests).
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, jitter = 0): number {
  assert(Number.isInteger(attempt) && attempt >= 0, 'attempt is a natural number');
  assert(baseMs > 0, 'backoff base is positive');
  assert(maxMs >= baseMs, 'backoff cap is at least the base');
  assert(jitter >= 0 && jitter < 1, 'jitter is a draw in [0, 1)');
  // 2^attempt overflows to Infinity for large attempts, which Math.min caps.
  const delayMs = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 64));
  const jitteredMs = Math.round(delayMs * (1 + jitter / 2));
  assert(jitteredMs >= delayMs, 'jitter only adds');
  return jitteredMs;
}
