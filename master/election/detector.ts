import { assert } from '../../lib/assert.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { ZkSession } from '../../lib/zookeeper/client.js';
import { isZkError } from '../../lib/zookeeper/errors.js';
import type { ZkCredentials } from '../../lib/zookeeper/url.js';
import {
  DEFAULT_ELECTION_LIMITS,
  checkElectionLimits,
  electionTimings,
  type ElectionLimits,
} from './limits.js';
import {
  candidatesInOrder,
  decodeMasterInfo,
  leaderOf,
  mastersPath,
  type MasterInfo,
} from './layout.js';
import { connectElectionSession } from './session.js';
import { Signal, sleepUnless } from './signal.js';

export interface DetectorOptions {
  readonly servers: string;
  readonly rootPath: string;
  /** Not needed: election znodes are world-readable. */
  readonly credentials?: ZkCredentials;
  readonly limits?: ElectionLimits;
  readonly logger?: Logger;
  /**
   * Also read every candidate's info, not only the leader's (`candidates()`): masters use it
   * to find their peers (blob replication). Agents and the CLI leave it off.
   */
  readonly followAll?: boolean;
}

/** Candidates whose info `followAll` reads (the lowest ones); a deployment runs 3 or 5. */
export const CANDIDATES_FOLLOWED_MAX = 16;

/**
 * Follows the current leader's info for agents, the CLI and non-leading masters. Watches the
 * candidate list and the lowest candidate's znode. While ZooKeeper cannot be reached it keeps
 * the last leader it saw (a stale address only costs a redirect or a 503 from that master);
 * `undefined` means ZooKeeper said there is no candidate at all.
 */
export class LeaderDetector {
  private readonly listeners = new Set<(leader: MasterInfo | undefined) => void>();
  private readonly limits: ElectionLimits;
  private readonly logger: Logger;
  private readonly stopSignal = new Signal();
  private running: Promise<void> | undefined;
  private leader: MasterInfo | undefined;
  private leaderZnode: string | undefined;
  /** With `followAll`: each candidate's info by znode name, in election order (once listed). */
  private all: Map<string, MasterInfo> | undefined;

  constructor(private readonly options: DetectorOptions) {
    this.limits = options.limits ?? DEFAULT_ELECTION_LIMITS;
    checkElectionLimits(this.limits);
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    assert(this.running === undefined, 'detector already started');
    this.running = this.run();
  }

  current(): MasterInfo | undefined {
    return this.leader;
  }

  /**
   * With `followAll`: every candidate's info, leader first (the last listing seen); undefined
   * until the first listing was read.
   */
  candidates(): readonly MasterInfo[] | undefined {
    return this.all && [...this.all.values()];
  }

  onChange(listener: (leader: MasterInfo | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The leader once one is known (now or later); rejects after `timeoutMs`. */
  waitForLeader(timeoutMs: number): Promise<MasterInfo> {
    const known = this.leader;
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`no leading master found within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onChange((leader) => {
        if (!leader) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(leader);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopSignal.fire();
    await this.running;
    this.listeners.clear();
  }

  private async run(): Promise<void> {
    while (!this.stopSignal.isFired) {
      let session: ZkSession | undefined;
      try {
        session = await connectElectionSession(
          this.options,
          this.limits,
          electionTimings(this.limits.sessionTimeoutMs).requestTimeoutMs,
          this.logger,
        );
        await this.follow(session);
      } catch (error) {
        this.logger.warn('leader detection failed; reconnecting', { error: String(error) });
      }
      await session?.close();
      await sleepUnless(this.limits.rejoinDelayMs, this.stopSignal);
    }
  }

  private async follow(session: ZkSession): Promise<void> {
    const ended = new Signal();
    session.onStateChange((state) => {
      if (state === 'expired' || state === 'auth_failed') ended.fire();
    });
    void this.stopSignal.fired.then(() => ended.fire());
    const folder = mastersPath(this.options.rootPath);
    while (!ended.isFired) {
      const changed = new Signal();
      let children: string[];
      try {
        children = await session.getChildren(folder, () => changed.fire());
      } catch (error) {
        if (!isZkError(error, 'no_node')) throw error;
        // No master ever ran here yet: wait for the folder to appear.
        if (await session.exists(folder, () => changed.fire())) continue;
        children = [];
      }
      await this.settle(session, folder, leaderOf(children), changed);
      if (this.options.followAll) await this.readAll(session, folder, children, changed);
      await Promise.race([changed.fired, ended.fired]);
    }
  }

  private async settle(
    session: ZkSession,
    folder: string,
    lowest: string | undefined,
    changed: Signal,
  ): Promise<void> {
    if (lowest === undefined) return this.update(undefined, undefined);
    if (lowest === this.leaderZnode) return;
    try {
      const { data } = await session.getData(`${folder}/${lowest}`);
      const info = decodeMasterInfo(data, this.limits.infoBytesMax);
      if (!info.ok) {
        this.logger.warn('ignoring a malformed leader znode', { znode: lowest, error: info.error });
        return this.update(undefined, undefined);
      }
      this.update(info.value, lowest);
    } catch (error) {
      if (!isZkError(error, 'no_node')) throw error;
      changed.fire(); // it went between listing and reading: list again
    }
  }

  /** Reads the info of candidates not seen before (a znode's info never changes). */
  private async readAll(
    session: ZkSession,
    folder: string,
    children: readonly string[],
    changed: Signal,
  ): Promise<void> {
    const next = new Map<string, MasterInfo>();
    for (const name of candidatesInOrder(children).slice(0, CANDIDATES_FOLLOWED_MAX)) {
      const known = this.all?.get(name);
      if (known) {
        next.set(name, known);
        continue;
      }
      try {
        const { data } = await session.getData(`${folder}/${name}`);
        const info = decodeMasterInfo(data, this.limits.infoBytesMax);
        if (info.ok) next.set(name, info.value);
        else this.logger.warn('ignoring a malformed candidate znode', { znode: name });
      } catch (error) {
        if (!isZkError(error, 'no_node')) throw error;
        changed.fire(); // it went between listing and reading: list again
      }
    }
    this.all = next;
  }

  private update(leader: MasterInfo | undefined, znode: string | undefined): void {
    this.leaderZnode = znode;
    if (JSON.stringify(leader) === JSON.stringify(this.leader)) return;
    this.leader = leader;
    this.logger.info('leading master changed', { leader: leader?.id ?? 'none', znode });
    for (const listener of [...this.listeners]) listener(leader);
  }
}
