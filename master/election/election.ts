import { performance } from 'node:perf_hooks';
import { assert } from '../../lib/assert.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { OPEN_ACL, ZkSession, digestAcl, type ZkAcl } from '../../lib/zookeeper/client.js';
import type { ZkCredentials } from '../../lib/zookeeper/url.js';
import {
  DEFAULT_ELECTION_LIMITS,
  checkElectionLimits,
  electionTimings,
  type ElectionLimits,
} from './limits.js';
import {
  INFO_PREFIX,
  encodeMasterInfo,
  mastersPath,
  predecessorOf,
  type MasterInfo,
} from './layout.js';
import { connectElectionSession } from './session.js';
import { Signal, sleepUnless } from './signal.js';

export type ElectionEvent =
  | { readonly type: 'elected'; readonly fencePath: string }
  | { readonly type: 'deposed'; readonly reason: DeposedReason };

export type DeposedReason =
  'lease_expired' | 'session_expired' | 'znode_lost' | 'session_failed' | 'stopped';

export interface ElectionOptions {
  readonly servers: string;
  readonly rootPath: string;
  readonly info: MasterInfo;
  /** The masters' digest credentials; without them the election znodes are open (dev only). */
  readonly credentials?: ZkCredentials;
  readonly limits?: ElectionLimits;
  readonly logger?: Logger;
  /** Monotonic milliseconds; injectable for tests. */
  readonly nowMs?: () => number;
}

/**
 * One master's candidacy. Joins with an ephemeral sequential znode, watches only its
 * predecessor, and leads when it holds the lowest sequence. A leader keeps a lease renewed by
 * probing its own znode; it stops leading (event `deposed`) the moment the lease runs out or
 * the session expires, and a candidate whose session dies rejoins with a new session.
 */
export class LeaderElection {
  private readonly listeners = new Set<(event: ElectionEvent) => void>();
  private readonly limits: ElectionLimits;
  /** Timings for the asked session timeout; replaced per session by the granted one's. */
  private timings: ReturnType<typeof electionTimings>;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private readonly stopSignal = new Signal();
  private running: Promise<void> | undefined;
  private candidate: string | undefined;
  private holdsLowest = false;
  private leaseUntilMs = 0;
  private announced = false;

  constructor(private readonly options: ElectionOptions) {
    this.limits = options.limits ?? DEFAULT_ELECTION_LIMITS;
    checkElectionLimits(this.limits);
    this.timings = electionTimings(this.limits.sessionTimeoutMs);
    this.logger = options.logger ?? silentLogger;
    this.nowMs = options.nowMs ?? (() => performance.now());
    assert(
      encodeMasterInfo(options.info).byteLength <= this.limits.infoBytesMax,
      'master info too large',
    );
  }

  /** Listeners run synchronously, in order: `deposed` must make the master stop at once. */
  on(listener: (event: ElectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    assert(this.running === undefined, 'election already started');
    this.running = this.run();
  }

  /** True only while this master holds the lowest znode AND an unexpired lease. Check it before acting. */
  isLeading(): boolean {
    return this.holdsLowest && this.nowMs() < this.leaseUntilMs;
  }

  /** The lease of the current session: half the session timeout ZooKeeper granted. */
  get leaseMs(): number {
    return this.timings.leaseMs;
  }

  /** This candidate's znode, for fencing registry writes (see ZkRegistryStore's fencePath). */
  get fencePath(): string | undefined {
    return this.candidate;
  }

  /** Leaves the election: deposes, deletes the znode (by closing the session), stops retrying. */
  async stop(): Promise<void> {
    this.stopSignal.fire();
    await this.running;
    this.listeners.clear();
  }

  private async run(): Promise<void> {
    while (!this.stopSignal.isFired) {
      let session: ZkSession | undefined;
      let reason: DeposedReason = 'session_failed';
      try {
        session = await connectElectionSession(
          this.options,
          this.limits,
          this.timings.requestTimeoutMs,
          this.logger,
        );
        reason = await this.candidacy(session);
      } catch (error) {
        this.logger.warn('election candidacy failed; rejoining', { error: String(error) });
      }
      this.stepDown(this.stopSignal.isFired ? 'stopped' : reason);
      this.candidate = undefined;
      await session?.close();
      await sleepUnless(this.limits.rejoinDelayMs, this.stopSignal);
    }
  }

  /** Runs one session's candidacy; returns why it ended. */
  private async candidacy(session: ZkSession): Promise<DeposedReason> {
    const ended = new Signal();
    let reason: DeposedReason = 'session_failed';
    session.onStateChange((state) => {
      if (state !== 'expired' && state !== 'auth_failed') return;
      // Expiry means ZooKeeper already let another candidate lead: stop before anything else runs.
      reason = 'session_expired';
      this.stepDown(reason);
      ended.fire();
    });
    void this.stopSignal.fired.then(() => ended.fire());
    this.timings = this.grantedTimings(session);
    const folder = mastersPath(this.options.rootPath);
    await session.ensurePath(folder, this.acl());
    const path = await session.create(
      `${folder}/${INFO_PREFIX}`,
      encodeMasterInfo(this.options.info),
      this.acl(),
      'ephemeral_sequential',
    );
    this.candidate = path;
    this.logger.info('joined the leader election', { znode: path, session: session.sessionId });
    const mine = path.slice(folder.length + 1);
    while (!ended.isFired) {
      const sentMs = this.nowMs();
      const predecessor = predecessorOf(await session.getChildren(folder), mine);
      if (predecessor === undefined) {
        this.leaseUntilMs = sentMs + this.timings.leaseMs;
        this.holdsLowest = true;
        const lost = await this.lead(session, path, ended);
        return lost ?? reason;
      }
      const wake = new Signal();
      const exists = await session.exists(`${folder}/${predecessor}`, () => wake.fire());
      if (exists) await Promise.race([wake.fired, ended.fired]);
    }
    return reason;
  }

  /**
   * Leads until the candidacy ends. Probes run on a fixed interval without waiting for each
   * other, so a hung request cannot delay noticing that the lease ran out.
   */
  private async lead(
    session: ZkSession,
    path: string,
    ended: Signal,
  ): Promise<DeposedReason | undefined> {
    let lost: DeposedReason | undefined;
    const probe = async (): Promise<void> => {
      const sentMs = this.nowMs();
      try {
        if (!(await session.exists(path))) {
          lost = 'znode_lost';
          ended.fire();
          return;
        }
        this.leaseUntilMs = Math.max(this.leaseUntilMs, sentMs + this.timings.leaseMs);
        if (!ended.isFired) this.announce();
      } catch (error) {
        this.logger.debug('leader lease probe failed', { error: String(error) });
      }
    };
    this.announce();
    const timer = setInterval(() => {
      this.announce();
      void probe();
    }, this.timings.probeIntervalMs);
    await ended.fired;
    clearInterval(timer);
    return lost;
  }

  /**
   * The lease must be derived from the session timeout ZooKeeper GRANTED: a server bounds it
   * to 2..20 ticks, and a lease computed from a longer asked-for timeout would outlive the
   * session (another master could lead while this one still believes it does).
   */
  private grantedTimings(session: ZkSession): ReturnType<typeof electionTimings> {
    const askedMs = this.limits.sessionTimeoutMs;
    const grantedMs = session.sessionTimeoutMs;
    if (grantedMs < askedMs) {
      this.logger.warn('ZooKeeper granted a shorter session timeout than asked', {
        askedMs,
        grantedMs,
      });
    }
    // Throws (and the candidacy retries after rejoinDelayMs) if the server grants under 1 s.
    return electionTimings(Math.min(askedMs, grantedMs));
  }

  /** Emits `elected` or `deposed` when the answer of isLeading() changed since the last event. */
  private announce(): void {
    const leading = this.isLeading();
    if (leading && !this.announced) {
      this.announced = true;
      this.logger.info('elected leader', { znode: this.candidate });
      this.emit({ type: 'elected', fencePath: this.candidate! });
    } else if (!leading && this.announced) {
      this.announced = false;
      this.logger.warn('lease expired: no longer leading', { znode: this.candidate });
      this.emit({ type: 'deposed', reason: 'lease_expired' });
    }
  }

  private stepDown(reason: DeposedReason): void {
    this.holdsLowest = false;
    this.leaseUntilMs = 0;
    if (!this.announced) return;
    this.announced = false;
    this.logger.warn('no longer leading', { reason, znode: this.candidate });
    this.emit({ type: 'deposed', reason });
  }

  private emit(event: ElectionEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private acl(): readonly ZkAcl[] {
    // World-readable: agents and the CLI find the leader without the masters' secret.
    return this.options.credentials ? digestAcl(this.options.credentials, true) : OPEN_ACL;
  }
}
