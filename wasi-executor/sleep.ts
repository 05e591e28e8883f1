/**
 * A synchronous sleep for the hosts' clock waits (preview1 poll_oneoff, wasi:io/poll): fine in
 * a worker, it blocks only the guest, as a native thread would; the task's wall-clock timeout
 * still ends it.
 */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** The longest single sleep; a guest asking for more sleeps again (the task timeout still applies). */
export const SLEEP_MS_MAX = 60_000;

export function sleepMs(durationMs: number): void {
  if (durationMs <= 0) return;
  Atomics.wait(sleeper, 0, 0, Math.min(durationMs, SLEEP_MS_MAX));
}
