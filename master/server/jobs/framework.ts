import { randomBytes, randomUUID } from 'node:crypto';
import { assert } from '../../../lib/assert.js';
import type { Cancel, Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import { err, ok, type Result } from '../../../lib/result.js';
import type { CoreInput, FrameworkEvent, OfferView } from '../../core/messages.js';
import { parseResources } from '../../core/resources.js';
import type { TaskStatusView } from '../../core/tasks.js';
import type { MasterDriver, SubmitError } from '../driver.js';
import type { Sink, StreamTable } from '../streams.js';
import {
  checkJobsLimits,
  DEFAULT_JOBS_LIMITS,
  DEFAULT_JOBS_TIMINGS,
  type JobsLimits,
  type JobsTimings,
} from './limits.js';
import { explainWaiting, placeJobs, type Placeable, type WaitingReason } from './placement.js';
import {
  applyTaskStatus,
  decodeJob,
  encodeJob,
  isEnded,
  killQueuedJob,
  newJob,
  placeJob,
  requeueJob,
  type JobRecord,
} from './record.js';
import { taskInfoOf, type JobSpec } from './spec.js';

/** How the jobs framework shows itself to the core (and finds itself again after a restart). */
export const JOBS_FRAMEWORK_NAME = 'wasmos-jobs';
export const JOBS_PRINCIPAL = 'wasmos-master-jobs';
export const JOBS_ROLE = 'jobs';

export type JobsError =
  | { readonly code: 'not_found'; readonly message: string }
  | { readonly code: 'limit_exceeded'; readonly message: string }
  | { readonly code: 'unavailable'; readonly message: string }
  | { readonly code: 'invalid'; readonly message: string };

/** A job as the API shows it: the record, its framework, and why it waits when queued. */
export type JobView = JobRecord & {
  readonly frameworkId?: string;
  readonly waiting?: WaitingReason;
};

export interface JobsFrameworkOptions {
  readonly driver: MasterDriver;
  readonly streams: StreamTable;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits?: Partial<JobsLimits>;
  readonly timings?: Partial<JobsTimings>;
}

/**
 * The built-in framework behind POST /api/v1/jobs: an in-process scheduler that talks to the
 * core through the driver like any framework (its own stream id, a sink in the stream table),
 * subscribing when the first job comes (or at start when the registry holds its id or jobs).
 * It places queued jobs on offers (placement.ts), keeps every job durable in the registry
 * (putJob, written before the update is acknowledged), revives while jobs wait, suppresses when
 * none do, and after a master restart picks up its framework id and its jobs from the registry.
 */
export class JobsFramework {
  private readonly limits: JobsLimits;
  private readonly timings: JobsTimings;
  /** Every job, in submission order. */
  private readonly jobs = new Map<string, JobRecord>();
  /** Queued job ids in queue order. */
  private readonly queue = new Set<string>();
  /** Ended job ids, oldest first: the first ones are forgotten past endedJobsKeptMax. */
  private readonly ended = new Set<string>();
  private readonly placeables = new Map<string, Placeable>();
  private frameworkId: string | undefined;
  private streamId: string | undefined;
  private connected = false;
  private suppressed = false;
  private stopped = false;
  private cancelReconcile: Cancel | undefined;
  private cancelResubscribe: Cancel | undefined;

  private constructor(private readonly options: JobsFrameworkOptions) {
    const view = options.driver.view();
    this.limits = { ...DEFAULT_JOBS_LIMITS, ...options.limits };
    this.timings = { ...DEFAULT_JOBS_TIMINGS, ...options.timings };
    checkJobsLimits(this.limits, view.config.limits.jobsMax);
  }

  /** Loads the jobs from the registry and subscribes; resolves once subscribed (or given up). */
  static async start(options: JobsFrameworkOptions): Promise<JobsFramework> {
    const framework = new JobsFramework(options);
    framework.recover();
    // A master whose jobs API was never used shows no jobs framework to anyone.
    if (framework.frameworkId !== undefined || framework.jobs.size > framework.ended.size)
      await framework.subscribe();
    framework.scheduleReconcile();
    // Its timers must not outlive the term (they would hold a stopping process open).
    options.driver.onStop(() => framework.stop());
    return framework;
  }

  get id(): string | undefined {
    return this.frameworkId;
  }

  get isSubscribed(): boolean {
    return this.connected;
  }

  async submit(spec: JobSpec): Promise<Result<JobView, JobsError>> {
    if (this.stopped) return err({ code: 'unavailable', message: 'the jobs framework stopped' });
    const active = this.jobs.size - this.ended.size;
    if (active >= this.limits.activeJobsMax)
      return err({
        code: 'limit_exceeded',
        message: `${active} jobs are queued or running; at most ${this.limits.activeJobsMax} (activeJobsMax): wait for some to end`,
      });
    const job = newJob(newJobId(), spec, this.options.clock.nowMs());
    this.setJob(job);
    const written = this.put(job);
    this.wantOffers(true);
    if (this.streamId === undefined && !this.cancelResubscribe) void this.subscribe();
    const result = await written;
    if (!result.ok) {
      this.forget(job.id);
      return err(submitFailure(result.error));
    }
    return ok(this.view(this.jobs.get(job.id) ?? job, true));
  }

  get(jobId: string): JobView | undefined {
    const job = this.jobs.get(jobId);
    return job ? this.view(job, true) : undefined;
  }

  /** Newest first, at most `listedJobsMax` (or `count`). */
  list(count = this.limits.listedJobsMax): JobView[] {
    const wanted = Math.min(Math.max(1, count), this.limits.listedJobsMax);
    const newest = [...this.jobs.values()].slice(-wanted).reverse();
    let explained = 0;
    return newest.map((job) => {
      const explain = job.state === 'queued' && explained++ < this.limits.explainedJobsMax;
      const { spec: _spec, ...shown } = this.view(job, explain);
      return shown;
    });
  }

  async kill(jobId: string): Promise<Result<JobView, JobsError>> {
    const job = this.jobs.get(jobId);
    if (!job) return err({ code: 'not_found', message: `no job ${jobId}` });
    if (isEnded(job.state)) return ok(this.view(job, false));
    if (job.state === 'queued') {
      const killed = killQueuedJob(job, this.options.clock.nowMs());
      this.setJob(killed);
      const written = await this.put(killed);
      return written.ok ? ok(this.view(killed, false)) : err(submitFailure(written.error));
    }
    if (!this.connected || !this.frameworkId || !this.streamId)
      return err({ code: 'unavailable', message: 'the jobs framework is reconnecting; try again' });
    const marked: JobRecord = { ...job, killRequested: true };
    this.setJob(marked);
    void this.put(marked);
    const killed = await this.options.driver.submit({
      kind: 'kill',
      frameworkId: this.frameworkId,
      streamId: this.streamId,
      taskId: jobId,
      ...(job.agentId ? { agentId: job.agentId } : {}),
    });
    if (!killed.ok) return err(submitFailure(killed.error));
    return ok(this.view(this.jobs.get(jobId) ?? marked, false));
  }

  /** Stops taking part (master stopping); tasks keep running, the framework fails over later. */
  stop(): void {
    this.stopped = true;
    this.connected = false;
    this.cancelReconcile?.();
    this.cancelResubscribe?.();
  }

  // ---- recovery and subscription ------------------------------------------------------

  private recover(): void {
    const view = this.options.driver.view();
    const records: JobRecord[] = [];
    for (const [jobId, value] of view.jobs) {
      const decoded = decodeJob(jobId, value);
      if (decoded.ok) records.push(decoded.value);
      else this.options.log.warn('registry job skipped', { jobId, error: decoded.error });
    }
    records.sort((left, right) => left.submittedAtMs - right.submittedAtMs);
    for (const record of records) this.setJob(record);
    const ended = [...this.ended].sort(
      (left, right) =>
        (this.jobs.get(left)!.endedAtMs ?? 0) - (this.jobs.get(right)!.endedAtMs ?? 0),
    );
    this.ended.clear();
    for (const jobId of ended) this.ended.add(jobId);
    let newest: { id: string; registeredAtMs: number } | undefined;
    for (const framework of view.frameworks.values()) {
      if (framework.principal !== JOBS_PRINCIPAL || framework.name !== JOBS_FRAMEWORK_NAME)
        continue;
      if (!newest || framework.registeredAtMs > newest.registeredAtMs) newest = framework;
    }
    this.frameworkId = newest?.id;
    this.options.log.info('jobs recovered', {
      jobs: this.jobs.size,
      queued: this.queue.size,
      frameworkId: this.frameworkId ?? 'none',
    });
  }

  private async subscribe(): Promise<void> {
    if (!this.options.driver.isRunning) this.stop();
    if (this.stopped) return;
    const streamId = `jobs-${randomUUID()}`;
    const sink: Sink<FrameworkEvent> = {
      send: (event) => this.onEvent(streamId, event),
      close: () => this.onClosed(streamId),
    };
    this.streamId = streamId;
    this.connected = false;
    this.options.streams.addFramework(streamId, sink);
    const view = this.options.driver.view();
    const subscribed = await this.options.driver.submit({
      kind: 'subscribe',
      streamId,
      framework: {
        ...(this.frameworkId ? { id: this.frameworkId } : {}),
        name: JOBS_FRAMEWORK_NAME,
        role: JOBS_ROLE,
        user: 'wasmos',
        principal: JOBS_PRINCIPAL,
        // Jobs keep running while the master restarts: fail over for as long as allowed.
        failoverTimeoutMs: view.config.timings.failoverTimeoutMsMax,
        partitionAware: false,
      },
    });
    if (subscribed.ok) return;
    this.options.streams.removeFramework(streamId, sink);
    if (this.streamId === streamId) this.streamId = undefined;
    this.onSubscribeRefused(subscribed.error);
  }

  private onSubscribeRefused(error: SubmitError): void {
    if (error.kind === 'stopped') return;
    this.options.log.warn('jobs framework could not subscribe', { error: describe(error) });
    const forgotten =
      error.kind === 'core' &&
      (error.error.code === 'framework_removed' || error.error.code === 'framework_unknown');
    if (forgotten) this.startOver();
    this.scheduleResubscribe(forgotten ? 0 : this.timings.resubscribeDelayMs);
  }

  /** Our framework was removed: its tasks were killed with it; what was placed is lost. */
  private startOver(): void {
    this.frameworkId = undefined;
    const nowMs = this.options.clock.nowMs();
    for (const job of [...this.jobs.values()]) {
      if (job.state !== 'placed' && job.state !== 'running') continue;
      const { job: lost } = applyTaskStatus(
        job,
        {
          taskId: job.id,
          agentId: job.agentId,
          state: 'TASK_LOST',
          source: 'SOURCE_MASTER',
          reason: 'REASON_FRAMEWORK_REMOVED',
          message: 'the jobs framework was removed by the master',
          timestampMs: nowMs,
        },
        nowMs,
      );
      this.setJob(lost);
      void this.put(lost);
    }
  }

  private scheduleResubscribe(delayMs: number): void {
    if (this.stopped || this.cancelResubscribe) return;
    this.cancelResubscribe = this.options.clock.after(delayMs, () => {
      this.cancelResubscribe = undefined;
      void this.subscribe();
    });
  }

  private onClosed(streamId: string): void {
    if (streamId !== this.streamId) return;
    this.connected = false;
    this.streamId = undefined;
    // The term ended (shutdown or leadership lost): the next term starts its own framework.
    if (!this.options.driver.isRunning) this.stop();
    else this.scheduleResubscribe(this.timings.resubscribeDelayMs);
  }

  // ---- events -------------------------------------------------------------------------

  private onEvent(streamId: string, event: FrameworkEvent): void {
    if (streamId !== this.streamId || this.stopped) return;
    switch (event.type) {
      case 'subscribed':
        this.frameworkId = event.frameworkId;
        this.connected = true;
        this.suppressed = false;
        this.reconcileActive();
        this.wantOffers(false);
        return;
      case 'offers':
        this.onOffers(event.offers);
        return;
      case 'update':
        this.onUpdate(event.status);
        return;
      case 'error':
        this.options.log.warn('jobs framework got an error event', { message: event.message });
        return;
      default:
        // rescind (offers are answered at once), message, failure (updates follow): nothing to do.
        return;
    }
  }

  private onOffers(offers: readonly OfferView[]): void {
    const queued = [...this.queue].map((jobId) => this.placeable(jobId));
    const plan = placeJobs(queued, offers);
    const declined: string[] = [];
    for (const offer of offers) {
      const jobIds = plan.byOffer.get(offer.id);
      if (jobIds) this.launch(offer, jobIds);
      else declined.push(offer.id);
    }
    if (declined.length > 0)
      this.step({
        kind: 'decline',
        ...this.call(),
        offerIds: declined,
        refuseMs: this.timings.declineRefuseMs,
      });
    this.wantOffers(false);
  }

  private launch(offer: OfferView, jobIds: readonly string[]): void {
    const nowMs = this.options.clock.nowMs();
    const launches = jobIds.map((jobId) => {
      const job = this.jobs.get(jobId);
      assert(job?.spec && job.state === 'queued', `placed job ${jobId} is queued with a spec`);
      this.setJob(placeJob(job, offer.agentId, offer.hostname, nowMs));
      void this.put(this.jobs.get(jobId)!);
      return {
        taskId: jobId,
        name: job.name,
        agentId: offer.agentId,
        resources: this.placeable(jobId).resources,
        runtime: job.spec.runtime,
        payload: taskInfoOf(jobId, offer.agentId, job.spec),
      };
    });
    void this.options.driver
      .submit({
        kind: 'accept',
        ...this.call(),
        offerIds: [offer.id],
        launches,
        refuseMs: this.timings.declineRefuseMs,
      })
      .then((accepted) => {
        if (accepted.ok || accepted.error.kind !== 'core') return;
        this.options.log.warn('launch refused; jobs go back to the queue', {
          offerId: offer.id,
          error: describe(accepted.error),
        });
        for (const jobId of jobIds) this.requeue(jobId);
      });
  }

  private requeue(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job || job.state !== 'placed') return;
    this.setJob(requeueJob(job));
    void this.put(this.jobs.get(jobId)!);
    this.wantOffers(true);
  }

  private onUpdate(status: TaskStatusView): void {
    const job = this.jobs.get(status.taskId);
    if (!job) {
      this.acknowledge(status);
      return;
    }
    const applied = applyTaskStatus(job, status, this.options.clock.nowMs());
    if (!applied.changed) {
      this.acknowledge(status);
      return;
    }
    this.setJob(applied.job);
    // Durable first, then acknowledged: a crash in between makes the agent send it again.
    void this.put(applied.job).then((written) => {
      if (written.ok) this.acknowledge(status);
    });
    if (isEnded(applied.job.state)) this.pruneEnded();
    if (applied.job.state === 'queued') this.wantOffers(true);
  }

  private acknowledge(status: TaskStatusView): void {
    if (status.uuid === undefined || status.agentId === undefined || !this.connected) return;
    this.step({
      kind: 'acknowledge',
      ...this.call(),
      agentId: status.agentId,
      taskId: status.taskId,
      uuid: status.uuid,
    });
  }

  // ---- offers wanted, reconciliation --------------------------------------------------

  /** REVIVE while jobs wait (always on a new job: it clears filters), SUPPRESS when none do. */
  private wantOffers(newJobArrived: boolean): void {
    if (!this.connected) return;
    if (this.queue.size > 0 && (this.suppressed || newJobArrived)) {
      this.suppressed = false;
      this.step({ kind: 'revive', ...this.call() });
    } else if (this.queue.size === 0 && !this.suppressed) {
      this.suppressed = true;
      this.step({ kind: 'suppress', ...this.call() });
    }
  }

  private reconcileActive(): void {
    if (!this.connected) return;
    const tasks = [...this.jobs.values()]
      .filter((job) => job.state === 'placed' || job.state === 'running')
      .map((job) => ({ taskId: job.id, ...(job.agentId ? { agentId: job.agentId } : {}) }));
    if (tasks.length > 0) this.step({ kind: 'reconcile', ...this.call(), tasks });
  }

  private scheduleReconcile(): void {
    if (this.stopped) return;
    this.cancelReconcile = this.options.clock.after(this.timings.reconcileIntervalMs, () => {
      if (!this.options.driver.isRunning) return this.stop();
      this.reconcileActive();
      this.scheduleReconcile();
    });
  }

  // ---- bookkeeping --------------------------------------------------------------------

  private call(): { frameworkId: string; streamId: string } {
    assert(this.frameworkId !== undefined, 'calls need a framework id');
    assert(this.streamId !== undefined, 'calls need a stream');
    return { frameworkId: this.frameworkId, streamId: this.streamId };
  }

  private step(input: CoreInput): void {
    this.options.driver.notify(input);
  }

  private put(job: JobRecord): ReturnType<MasterDriver['submit']> {
    return this.options.driver.submit({ kind: 'putJob', jobId: job.id, record: encodeJob(job) });
  }

  private setJob(job: JobRecord): void {
    this.jobs.set(job.id, job);
    if (job.state === 'queued') this.queue.add(job.id);
    else this.queue.delete(job.id);
    if (isEnded(job.state)) {
      this.ended.add(job.id);
      this.placeables.delete(job.id);
    }
  }

  private forget(jobId: string): void {
    this.jobs.delete(jobId);
    this.queue.delete(jobId);
    this.ended.delete(jobId);
    this.placeables.delete(jobId);
  }

  /** Ended jobs past endedJobsKeptMax leave the registry, oldest first. */
  private pruneEnded(): void {
    while (this.ended.size > this.limits.endedJobsKeptMax) {
      const oldest = this.ended.values().next().value;
      assert(oldest !== undefined, 'an over-full set has a first entry');
      this.forget(oldest);
      this.step({ kind: 'deleteJob', jobId: oldest });
    }
  }

  private placeable(jobId: string): Placeable {
    const cached = this.placeables.get(jobId);
    if (cached) return cached;
    const job = this.jobs.get(jobId);
    assert(job, `job ${jobId} is known`);
    const resources = parseResources(job.summary.resources);
    assert(resources.ok, `job ${jobId}'s resources were validated`);
    const placeable = {
      id: jobId,
      runtime: job.summary.runtime,
      resources: resources.value,
      attributes: job.summary.attributes,
    };
    this.placeables.set(jobId, placeable);
    return placeable;
  }

  private view(job: JobRecord, explain: boolean): JobView {
    const waiting = explain && job.state === 'queued' ? this.explain(job.id) : undefined;
    return {
      ...job,
      ...(this.frameworkId ? { frameworkId: this.frameworkId } : {}),
      ...(waiting ? { waiting } : {}),
    };
  }

  private explain(jobId: string): WaitingReason {
    const agents = [...this.options.driver.view().agents.values()].map((agent) => ({
      ...agent,
      active: agent.status === 'active',
    }));
    return explainWaiting(this.placeable(jobId), agents);
  }
}

function newJobId(): string {
  return `job-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

function describe(error: SubmitError): string {
  return error.kind === 'core'
    ? `${error.error.code}: ${error.error.message}`
    : error.kind === 'persist'
      ? error.error.message
      : error.message;
}

function submitFailure(error: SubmitError): JobsError {
  if (error.kind === 'core') {
    const code = error.error.code === 'limit_exceeded' ? 'limit_exceeded' : 'invalid';
    return { code, message: error.error.message };
  }
  return { code: 'unavailable', message: `${describe(error)}; try again` };
}
