import type { Logger } from '../../lib/log.js';
import { ZkSession } from '../../lib/zookeeper/client.js';
import type { ZkCredentials } from '../../lib/zookeeper/url.js';
import type { ElectionLimits } from './limits.js';

/** Where the election lives, as both a candidate's and a detector's options name it. */
export interface ElectionEnsemble {
  readonly servers: string;
  readonly credentials?: ZkCredentials;
}

/**
 * One ZooKeeper session for a candidate or a detector: the ensemble's servers and credentials,
 * the limits' session and connect timeouts. `requestTimeoutMs` is the caller's: a candidate
 * derives it from the session timeout ZooKeeper last granted, a detector from the one it asks.
 */
export function connectElectionSession(
  ensemble: ElectionEnsemble,
  limits: ElectionLimits,
  requestTimeoutMs: number,
  logger: Logger,
): Promise<ZkSession> {
  return ZkSession.connect({
    servers: ensemble.servers,
    sessionTimeoutMs: limits.sessionTimeoutMs,
    connectTimeoutMs: limits.connectTimeoutMs,
    requestTimeoutMs,
    logger,
    ...(ensemble.credentials ? { credentials: ensemble.credentials } : {}),
  });
}
