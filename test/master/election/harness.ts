/** Shared helpers for election tests: candidates that record their events. */
import { LeaderElection, type ElectionEvent } from '../../../master/election/election.js';
import type { ElectionLimits } from '../../../master/election/limits.js';
import { DEFAULT_ELECTION_LIMITS } from '../../../master/election/limits.js';
import type { ZkCredentials } from '../../../lib/zookeeper/url.js';

/** Short sessions keep tests quick: ZooKeeper with 500 ms ticks grants 1..10 s. */
export const TEST_ELECTION_LIMITS: ElectionLimits = {
  ...DEFAULT_ELECTION_LIMITS,
  sessionTimeoutMs: 2000,
  connectTimeoutMs: 3000,
  rejoinDelayMs: 100,
};

export interface Candidate {
  readonly name: string;
  readonly election: LeaderElection;
  readonly events: ElectionEvent[];
}

export function candidate(
  name: string,
  servers: string,
  rootPath: string,
  credentials?: ZkCredentials,
): Candidate {
  const election = new LeaderElection({
    servers,
    rootPath,
    info: { id: name, address: `http://${name}.test:5050`, publicKey: `key-${name}` },
    limits: TEST_ELECTION_LIMITS,
    ...(credentials ? { credentials } : {}),
  });
  const events: ElectionEvent[] = [];
  election.on((event) => events.push(event));
  election.start();
  return { name, election, events };
}

export function leaders(candidates: readonly Candidate[]): string[] {
  return candidates.filter((each) => each.election.isLeading()).map((each) => each.name);
}
