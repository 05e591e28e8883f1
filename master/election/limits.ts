import { assert } from '../../lib/assert.js';

/** Limits and timings of leader election and detection. */
export interface ElectionLimits {
  /**
   * The ZooKeeper session timeout asked for. A leader whose session dies is replaced after
   * about this long; the server may bound it (2 to 20 ticks by default).
   */
  readonly sessionTimeoutMs: number;
  /** How long to wait for a ZooKeeper connection before retrying. */
  readonly connectTimeoutMs: number;
  /** Pause before a candidate or detector retries after losing its session or failing to join. */
  readonly rejoinDelayMs: number;
  /** The largest master info (JSON) written or accepted from an election znode. */
  readonly infoBytesMax: number;
}

export const DEFAULT_ELECTION_LIMITS: ElectionLimits = {
  sessionTimeoutMs: 4000,
  connectTimeoutMs: 10_000,
  rejoinDelayMs: 500,
  infoBytesMax: 4096,
};

/**
 * Derived timings. The leader believes it leads only while it holds a lease: half the session
 * timeout from the SEND time of its last answered request. ZooKeeper cannot expire the session
 * (and so cannot elect anyone else) sooner than a full session timeout after that request
 * reached it, so the old leader stops first even if it cannot talk to ZooKeeper at all.
 */
export function electionTimings(sessionTimeoutMs: number): {
  leaseMs: number;
  probeIntervalMs: number;
  requestTimeoutMs: number;
} {
  assert(sessionTimeoutMs >= 1000, 'session timeout must be at least 1 s');
  const leaseMs = Math.floor(sessionTimeoutMs / 2);
  const probeIntervalMs = Math.floor(sessionTimeoutMs / 8);
  const requestTimeoutMs = leaseMs;
  assert(probeIntervalMs * 3 <= leaseMs, 'a lease must survive a couple of slow probes');
  return { leaseMs, probeIntervalMs, requestTimeoutMs };
}

export function checkElectionLimits(limits: ElectionLimits): void {
  electionTimings(limits.sessionTimeoutMs);
  assert(limits.connectTimeoutMs > 0, 'connect timeout must be positive');
  assert(limits.rejoinDelayMs >= 0, 'rejoin delay must not be negative');
  assert(limits.infoBytesMax >= 256, 'infoBytesMax too small for a master info');
}

checkElectionLimits(DEFAULT_ELECTION_LIMITS);
