/**
 * The imperative shell around the leader election: joins it, and while this master leads,
 * keeps one "term" running: a registry store fenced by this term's election znode, handed to
 * the `startLeading` factory (which builds the master's driver on it). The moment the lease
 * runs out or the session expires the term is stopped, synchronously from the election's
 * event, before anything else runs; the election then rejoins as a candidate by itself.
 */
import { assert } from '../../lib/assert.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { ZkCredentials } from '../../lib/zookeeper/url.js';
import { LeaderDetector } from '../election/detector.js';
import { LeaderElection, type ElectionEvent } from '../election/election.js';
import type { MasterInfo } from '../election/layout.js';
import {
  DEFAULT_ELECTION_LIMITS,
  electionTimings,
  type ElectionLimits,
} from '../election/limits.js';
import { Signal, sleepUnless } from '../election/signal.js';
import { ZkRegistryStore } from '../registry/zk-store.js';
import type { RegistryStore } from '../registry/store.js';
import type { RegistryLimits } from '../registry/limits.js';
import type { LeaderView } from './leader-gate.js';

/** What `startLeading` returns: the running leader, stopped when its term ends. */
export interface LeadingHandle {
  /**
   * Stops acting as leader. Called synchronously from the deposing event: it must stop
   * accepting calls and allocating before it first awaits anything.
   */
  stop(): Promise<void>;
}

export interface LeadershipTerm {
  /** This term's election znode; every registry write of the term is fenced by it. */
  readonly fencePath: string;
  /** Aborted when the term ends (e.g. while `startLeading` is still recovering). */
  readonly signal: AbortSignal;
  /**
   * The leading master calls this when it cannot go on (e.g. a registry write failed): it is
   * stopped and, while this master still leads, started again after `startRetryMs`.
   */
  readonly failed: (reason: string) => void;
}

/**
 * Builds the leading master on `store` (recover the registry, start serving). A rejection,
 * or a later `term.failed()`, is retried every `startRetryMs` while the term lasts.
 */
export type StartLeading = (store: RegistryStore, term: LeadershipTerm) => Promise<LeadingHandle>;

export interface LeadershipLimits {
  readonly election: ElectionLimits;
  /** Pause between attempts of a `startLeading` that failed while this master still leads. */
  readonly startRetryMs: number;
}

export const DEFAULT_LEADERSHIP_LIMITS: LeadershipLimits = {
  election: DEFAULT_ELECTION_LIMITS,
  startRetryMs: 1000,
};

export interface LeadershipOptions {
  readonly servers: string;
  readonly rootPath: string;
  /** This master's id, its address (where others redirect to) and public key. */
  readonly info: MasterInfo;
  readonly credentials?: ZkCredentials;
  readonly startLeading: StartLeading;
  readonly limits?: LeadershipLimits;
  readonly registryLimits?: RegistryLimits;
  readonly logger?: Logger;
}

/** One stretch of leading: from `elected` to `deposed`. */
class Term {
  readonly store: ZkRegistryStore;
  private readonly abort = new AbortController();
  private readonly ended = new Signal();
  private handle: LeadingHandle | undefined;
  private stopping: Promise<void> | undefined;
  readonly running: Promise<void>;

  constructor(
    readonly fencePath: string,
    private readonly options: LeadershipOptions,
    private readonly limits: LeadershipLimits,
    private readonly logger: Logger,
  ) {
    const sessionTimeoutMs = limits.election.sessionTimeoutMs;
    this.store = new ZkRegistryStore({
      zookeeper: {
        servers: options.servers,
        sessionTimeoutMs,
        connectTimeoutMs: limits.election.connectTimeoutMs,
        requestTimeoutMs: electionTimings(sessionTimeoutMs).requestTimeoutMs,
      },
      rootPath: options.rootPath,
      // Fenced by THIS term's znode, not the election's current one: a driver of an ended
      // term whose write arrives after this master was re-elected must still fail.
      fencePath: () => fencePath,
      logger,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.registryLimits ? { limits: options.registryLimits } : {}),
    });
    this.running = this.start();
  }

  get isRunning(): boolean {
    return this.handle !== undefined && !this.ended.isFired;
  }

  /** Ends the term: the leading master's stop() is called before this returns. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.ended.fire();
    this.abort.abort(new Error('leadership lost'));
    const handle = this.handle;
    this.handle = undefined;
    const stopped = handle?.stop();
    this.stopping = (async () => {
      await stopped?.catch((error: unknown) =>
        this.logger.error('stopping the leading master failed', { error: String(error) }),
      );
      await this.running;
      await this.store.close();
    })();
    return this.stopping;
  }

  /** Starts the leading master, restarting it (after a pause) whenever it fails, until the term ends. */
  private async start(): Promise<void> {
    for (let attempt = 1; !this.ended.isFired; attempt++) {
      const failed = new Signal();
      let failure = '';
      let handle: LeadingHandle | undefined;
      let stopping: Promise<void> | undefined;
      const fail = (reason: string): void => {
        if (failed.isFired || this.ended.isFired) return;
        failure = reason;
        failed.fire();
        // Synchronously, like a deposition: not serving from this moment on.
        if (handle && this.handle === handle) {
          this.handle = undefined;
          stopping = handle.stop().catch(() => undefined);
        }
      };
      try {
        handle = await this.options.startLeading(this.store, {
          fencePath: this.fencePath,
          signal: this.abort.signal,
          failed: fail,
        });
      } catch (error) {
        if (this.ended.isFired) return;
        this.logger.error('starting as leader failed; retrying', {
          attempt,
          error: String(error),
          retryMs: this.limits.startRetryMs,
        });
        await sleepUnless(this.limits.startRetryMs, this.ended);
        continue;
      }
      if (this.ended.isFired) {
        // Deposed while starting: the new leading master must not act at all.
        await handle.stop().catch(() => undefined);
        return;
      }
      if (failed.isFired) {
        // It failed before it was even handed over.
        await handle.stop().catch(() => undefined);
      } else {
        this.handle = handle;
        this.logger.info('leading', { fencePath: this.fencePath, attempt });
        await Promise.race([failed.fired, this.ended.fired]);
        if (this.ended.isFired) return; // stop() stops the handle
        await stopping;
      }
      this.logger.error('the leading master failed; restarting it', {
        error: failure,
        retryMs: this.limits.startRetryMs,
      });
      await sleepUnless(this.limits.startRetryMs, this.ended);
    }
  }
}

export class Leadership implements LeaderView {
  private readonly election: LeaderElection;
  private readonly detector: LeaderDetector;
  private readonly limits: LeadershipLimits;
  private readonly logger: Logger;
  private readonly endedTerms = new Set<Promise<void>>();
  private term: Term | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: LeadershipOptions) {
    this.limits = options.limits ?? DEFAULT_LEADERSHIP_LIMITS;
    assert(this.limits.startRetryMs > 0, 'startRetryMs must be positive');
    this.logger = options.logger ?? silentLogger;
    const common = {
      servers: options.servers,
      rootPath: options.rootPath,
      limits: this.limits.election,
      logger: this.logger,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.election = new LeaderElection({ ...common, info: options.info });
    this.detector = new LeaderDetector({ ...common, followAll: true });
    this.election.on((event) => this.onElection(event));
  }

  /** This master's own info, as published in the election. */
  get self(): MasterInfo {
    return this.options.info;
  }

  start(): void {
    assert(!this.started, 'leadership already started');
    this.started = true;
    this.detector.start();
    this.election.start();
  }

  isServing(): boolean {
    // The lease is checked on every call, not only on events: timers can run late.
    return this.election.isLeading() && this.term?.isRunning === true;
  }

  /** True while this master holds the lease, whether or not its leading master runs yet. */
  isLeading(): boolean {
    return this.election.isLeading();
  }

  leader(): MasterInfo | undefined {
    if (this.isServing()) return this.options.info;
    const detected = this.detector.current();
    // The detector may still name this master after it lost its lease (or before its master
    // is up): redirecting to itself would loop, so say "no leader known" instead.
    if (detected?.id === this.options.info.id) return undefined;
    return detected;
  }

  /**
   * The other masters in the election, as last seen through ZooKeeper (blob replication);
   * undefined until the candidates were first listed.
   */
  peers(): readonly MasterInfo[] | undefined {
    return this.detector.candidates()?.filter((each) => each.id !== this.options.info.id);
  }

  /** Waits until some master leads (as seen through ZooKeeper). */
  waitForLeader(timeoutMs: number): Promise<MasterInfo> {
    return this.detector.waitForLeader(timeoutMs);
  }

  /** Leaves the election (the znode goes at once) after stopping any running term. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.endTerm();
    await this.election.stop();
    await this.detector.stop();
    await Promise.all(this.endedTerms);
  }

  private onElection(event: ElectionEvent): void {
    if (event.type === 'deposed') {
      this.logger.warn('deposed: stopping the leading master', { reason: event.reason });
      this.endTerm();
      return;
    }
    if (this.stopped) return;
    this.endTerm();
    this.logger.info('elected: starting the leading master', { fencePath: event.fencePath });
    this.term = new Term(event.fencePath, this.options, this.limits, this.logger);
  }

  private endTerm(): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    const ended = term.stop();
    this.endedTerms.add(ended);
    void ended.finally(() => this.endedTerms.delete(ended));
  }
}
