/** Shared pieces of the HA server tests. */
import { Leadership, type LeadershipLimits } from '../../../../master/server/leadership.js';
import { createLogger } from '../../../../lib/log.js';
import type { ZkCredentials } from '../../../../lib/zookeeper/url.js';
import { TEST_ELECTION_LIMITS } from '../../election/harness.js';
import { recorder, type Recorder } from './recorder.js';

export const TEST_LEADERSHIP_LIMITS: LeadershipLimits = {
  election: TEST_ELECTION_LIMITS,
  startRetryMs: 1000,
};

export interface Master {
  readonly name: string;
  readonly leadership: Leadership;
  readonly recorder: Recorder;
}

export function master(
  name: string,
  servers: string,
  rootPath: string,
  credentials?: ZkCredentials,
): Master {
  const recorded = recorder(name);
  const leadership = new Leadership({
    servers,
    rootPath,
    info: { id: name, address: `http://${name}.test:5050`, publicKey: `key-${name}` },
    limits: TEST_LEADERSHIP_LIMITS,
    startLeading: recorded.startLeading,
    // WASMOS_TEST_LOG=1 shows each master's election and terms when a test needs explaining.
    ...(process.env['WASMOS_TEST_LOG'] ? { logger: createLogger(`master-${name}`) } : {}),
    ...(credentials ? { credentials } : {}),
  });
  return { name, leadership, recorder: recorded };
}

export function serving(masters: readonly Master[]): string[] {
  return masters.filter((each) => each.leadership.isServing()).map((each) => each.name);
}
