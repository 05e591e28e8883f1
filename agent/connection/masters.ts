/**
 * Which masters the agent tries when it (re)subscribes. `--master` names either ZooKeeper
 * (`zk://h1:2181,h2:2181/wasmos`: the leader is read from the election znodes, kept current by
 * a LeaderDetector) or a list of master URLs (`http://m1:5050,http://m2:5050`: the master
 * that answered last first, then the configured ones, whose standbys redirect to the leader).
 * Every reconnect starts from this again, so a leader the agent was redirected to and that
 * died is not retried forever.
 */
import { silentLogger, type Logger } from '../../lib/log.js';
import { err, ok, type Result } from '../../lib/result.js';
import { masterBase, parseMasterLocation, type MasterLocation } from '../../cli/client/leader.js';
import { LeaderDetector } from '../../master/election/detector.js';
import { DEFAULT_ELECTION_LIMITS, type ElectionLimits } from '../../master/election/limits.js';
import { Signal } from '../../master/election/signal.js';

export interface MasterLocatorLimits {
  /** Pause after a round in which no master answered (none reachable, or all 503). */
  readonly roundRetryMs: number;
  /** One subscribe keeps going round the masters this long before it reports a failure. */
  readonly findTimeoutMs: number;
}

export const DEFAULT_MASTER_LOCATOR_LIMITS: MasterLocatorLimits = {
  roundRetryMs: 500,
  findTimeoutMs: 30_000,
};

export class MasterLocator {
  private readonly detector: LeaderDetector | undefined;
  private readonly closed = new Signal();

  private constructor(
    private readonly location: MasterLocation,
    readonly limits: MasterLocatorLimits,
    logger: Logger,
    election: ElectionLimits,
  ) {
    if (location.kind === 'zookeeper') {
      this.detector = new LeaderDetector({
        servers: location.zk.servers,
        rootPath: location.zk.rootPath,
        limits: election,
        logger,
      });
      this.detector.start();
    }
  }

  /** Parses `--master` and, for zk://, starts following the election. */
  static from(
    text: string,
    options: { limits?: MasterLocatorLimits; logger?: Logger; election?: ElectionLimits } = {},
  ): Result<MasterLocator, string> {
    const parsed = parseMasterLocation(text);
    if (!parsed.ok) return err(parsed.error);
    return ok(
      new MasterLocator(
        parsed.value,
        options.limits ?? DEFAULT_MASTER_LOCATOR_LIMITS,
        options.logger ?? silentLogger,
        options.election ?? DEFAULT_ELECTION_LIMITS,
      ),
    );
  }

  /** What was configured, for logs. */
  get description(): string {
    return this.location.kind === 'zookeeper'
      ? `zk://${this.location.zk.servers}${this.location.zk.rootPath}`
      : this.location.urls.join(',');
  }

  /** The first configured master (for a zk:// location: the leader known now, if any). */
  get initial(): string {
    return this.candidates(undefined)[0] ?? '';
  }

  /** Base URLs to try this round, in order; `lastAnswered` is the master of the last stream. */
  candidates(lastAnswered: string | undefined): string[] {
    if (this.location.kind === 'zookeeper') {
      const leader = this.detector?.current();
      const base = leader ? masterBase(leader.address) : undefined;
      return base ? [base] : [];
    }
    const urls = this.location.urls;
    return lastAnswered ? [lastAnswered, ...urls.filter((url) => url !== lastAnswered)] : [...urls];
  }

  /**
   * Waits before the next round: `roundRetryMs`, cut short when ZooKeeper names another leader
   * or the locator is closed.
   */
  waitBeforeNextRound(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe?.();
        resolve();
      };
      const timer = setTimeout(done, this.limits.roundRetryMs);
      const unsubscribe = this.detector?.onChange((leader) => {
        if (leader) done();
      });
      void this.closed.fired.then(done);
    });
  }

  get isClosed(): boolean {
    return this.closed.isFired;
  }

  async close(): Promise<void> {
    this.closed.fire();
    await this.detector?.stop();
  }
}
