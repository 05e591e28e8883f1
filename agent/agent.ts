import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { assert } from '../lib/assert.js';
import { systemClock, type Cancel, type Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/log.js';
import { Signer } from '../protocol/envelope/seal.js';
import type { Identity } from '../protocol/keys/identity.js';
import { TrustReloader } from '../protocol/keys/trust-reload.js';
import type { TrustStore } from '../protocol/keys/trust.js';
import type { Attribute } from '../protocol/messages/common.js';
import type {
  AgentCall,
  AgentEvent,
  LogStream,
  UnavailableRuntime,
} from '../protocol/messages/agent.js';
import type { AgentInfo, Task, TaskInfo, TaskStatus } from '../protocol/messages/task.js';
import { fieldLimits } from '../protocol/limits.js';
import { Executor } from '../wasi-executor/executor.js';
import {
  readAgentId,
  loadOrCreateKey,
  selectMasterKeys,
  writeAgentId,
} from './checkpoint/identity.js';
import { TaskCheckpoints, type TaskRecord } from './checkpoint/tasks.js';
import { ComponentCache, type ComponentLease } from './components/cache.js';
import { AgentChannel } from './connection/channel.js';
import { AgentSession } from './connection/session.js';
import type { Containerizer, Runtime, Termination } from './containerizer/containerizer.js';
import { WasmContainerizer } from './containerizer/wasm/wasm-containerizer.js';
import { backoffDelayMs } from './core/backoff.js';
import { TaskTable, type ActiveTask, type AgentCapacity } from './core/tasks.js';
import { diskLimitation, type Limitation } from './core/disk.js';
import { terminalFields, type TerminalFields } from './core/termination.js';
import { isTerminalStatus, type StatusUpdate } from './core/updates.js';
import type { FilesystemMode } from './containerizer/linux/namespaces/filesystem.js';
import { unavailableRuntimes } from './core/runtimes.js';
import { resolveWasmSpec } from './core/wasm-spec.js';
import { agentLimits, checkAgentLimits, type AgentLimits } from './limits.js';
import { capacityResources, defaultCapacity } from './options.js';
import { measureDiskUsage } from './sandbox/disk-usage.js';
import { readLog } from './sandbox/rotating-log.js';
import { Sandboxes } from './sandbox/sandboxes.js';
import { takenUpdates } from './status/batch-answer.js';
import { StatusUpdateManager, newStatusUuid, type UpdateTransport } from './status/manager.js';

export interface AgentOptions {
  readonly masterUrl: string;
  readonly workDir: string;
  /** Master keys (role `master`): events signed by anything else are refused. */
  readonly trust: TrustStore;
  /**
   * The trust directory `trust` was read from: when given, `trust` is reloaded from it on
   * SIGHUP and when a file in it changes (master keys only; a bad directory keeps the old keys).
   */
  readonly trustDir?: string;
  /** The agent's key; else read from `keyFile`, else `<workDir>/agent.key` (made on first start). */
  readonly identity?: Identity;
  readonly keyFile?: string;
  /** Scalars by name (`cpus`, `mem` MiB, `disk` MiB) overriding what the host has. */
  readonly resources?: Readonly<Record<string, number>>;
  readonly attributes?: readonly Attribute[];
  /** Default: `wasm`, plus `linux` when the Linux containerizer's capability check passes. */
  readonly runtimes?: readonly Runtime[];
  /** Host paths tasks may be granted besides their sandbox (deny by default). */
  readonly hostPathsAllowed?: readonly string[];
  /** Linux tasks' view of the host's files (docs/LINUX.md); default `writable`. */
  readonly linuxFilesystem?: FilesystemMode;
  readonly hostname?: string;
  readonly limits?: Partial<AgentLimits>;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Containerizers to use instead of the built-in ones (tests, embedding). */
  readonly containerizers?: Partial<Record<Runtime, Containerizer>>;
  readonly fetch?: typeof fetch;
  /**
   * Load and run the component tools (jco, the instrumenter) on a sample at start, in the
   * background (default true): otherwise the first component task of a fresh agent pays for
   * it, seconds on a busy machine (docs/BENCHMARKS.md, cold start).
   */
  readonly warmComponentTools?: boolean;
}

/** What `startAgent` returns: a running agent and its own accounting. */
export interface RunningAgent {
  readonly agentId: string | undefined;
  readonly keyId: string;
  readonly runtimes: readonly Runtime[];
  /** The runtimes it does not offer and why (sent to the master when it registers). */
  readonly unavailableRuntimes: readonly UnavailableRuntime[];
  readonly capacity: AgentCapacity;
  /** Resources held by active tasks, and the tasks, as the agent itself accounts them. */
  snapshot(): AgentSnapshot;
  /** Stops the session and every task (their terminal updates stay checkpointed). */
  stop(): Promise<void>;
}

export interface AgentSnapshot {
  readonly connected: boolean;
  readonly used: AgentCapacity;
  readonly tasks: ReadonlyArray<{
    frameworkId: string;
    taskId: string;
    state: string;
    runtime: Runtime;
  }>;
  readonly unacknowledgedUpdates: number;
}

const AGENT_VERSION = await readVersion();

async function readVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version.slice(0, fieldLimits.versionCharsMax) : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Starts an agent in this process: recovers its work dir, then connects to the master. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const agent = await Agent.create(options);
  await agent.recover();
  await agent.watchTrust();
  agent.connect();
  agent.watchDisks();
  return agent;
}

interface Running {
  readonly task: ActiveTask;
  /** As last checkpointed. */
  record: TaskRecord;
  lease: ComponentLease | undefined;
  launched: boolean;
}

export class Agent implements RunningAgent {
  private readonly running = new Map<string, Running>();
  private readonly work = new Set<Promise<unknown>>();
  private session: AgentSession | undefined;
  /** The master of the current stream (a list or zk:// resolves to one), for blob downloads. */
  private channel: AgentChannel | undefined;
  private heartbeat: Cancel | undefined;
  private diskCheck: Cancel | undefined;
  private trustReloader: TrustReloader | undefined;
  private stopping = false;
  private currentAgentId: string | undefined;

  private constructor(
    private readonly options: AgentOptions,
    private readonly limits: AgentLimits,
    private readonly identity: Identity,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly updates: StatusUpdateManager,
    private readonly cache: ComponentCache,
    private readonly sandboxes: Sandboxes,
    private readonly checkpoints: TaskCheckpoints,
    private readonly containerizers: ReadonlyMap<Runtime, Containerizer>,
    private readonly table: TaskTable,
    private readonly executor: Executor | undefined,
    readonly unavailableRuntimes: readonly UnavailableRuntime[],
    agentId: string | undefined,
  ) {
    this.currentAgentId = agentId;
  }

  static async create(options: AgentOptions): Promise<Agent> {
    const limits: AgentLimits = { ...agentLimits, ...options.limits };
    checkAgentLimits(limits);
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? createLogger('agent');
    const workDir = options.workDir;
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    const identity =
      options.identity ?? (await loadOrCreateKey(options.keyFile ?? join(workDir, 'agent.key')));
    const checkpoints = await TaskCheckpoints.open({
      dir: join(workDir, 'tasks'),
      journalCompactBytesMin: limits.journalCompactBytesMin,
      logger,
    });
    const updates = await StatusUpdateManager.open({
      dir: join(workDir, 'updates'),
      journalCompactBytesMin: limits.journalCompactBytesMin,
      beforeCompact: () => checkpoints.flush(),
      clock,
      retry: { baseMs: limits.updateRetryBaseMs, maxMs: limits.updateRetryMaxMs },
      updatesPerTaskMax: limits.updatesPerTaskMax,
      batching: {
        windowMs: limits.updateBatchWindowMs,
        updatesMax: limits.updateBatchUpdatesMax,
        bytesMax: limits.updateBatchBytesMax,
      },
      logger: logger.child('status'),
    });
    const cache = await ComponentCache.open({
      dir: join(workDir, 'components'),
      bytesMax: limits.cacheBytesMax,
      componentBytesMax: limits.componentBytesMax,
      fetchTimeoutMs: limits.fetchTimeoutMs,
      logger: logger.child('components'),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const sandboxes = await Sandboxes.open({
      root: join(workDir, 'sandboxes'),
      indexFile: join(workDir, 'sandboxes.journal'),
      limits: { finishedSandboxesKept: limits.finishedSandboxesKept },
      journalCompactBytesMin: limits.journalCompactBytesMin,
    });
    const { containerizers, executor, unsupported } = await buildContainerizers(
      options,
      limits,
      identity,
      clock,
      logger,
    );
    const unavailable = unavailableRuntimes(
      options.runtimes,
      new Set(containerizers.keys()),
      unsupported,
    );
    for (const each of unavailable) {
      // An operator who asked for a runtime and did not get it should notice.
      const log = options.runtimes?.includes(each.runtime) ? logger.warn : logger.info;
      log.call(logger, `the ${each.runtime} runtime is not available here`, { ...each });
    }
    const capacity = defaultCapacity(workDir, options.resources);
    const table = new TaskTable(capacity, new Set(containerizers.keys()), limits.tasksMax);
    const agentId = await readAgentId(workDir);
    return new Agent(
      options,
      limits,
      identity,
      clock,
      logger,
      updates,
      cache,
      sandboxes,
      checkpoints,
      containerizers,
      table,
      executor,
      unavailable,
      agentId,
    );
  }

  get agentId(): string | undefined {
    return this.currentAgentId;
  }

  get keyId(): string {
    return this.identity.keyId;
  }

  get runtimes(): Runtime[] {
    return [...this.containerizers.keys()];
  }

  get capacity(): AgentCapacity {
    return this.table.capacity;
  }

  snapshot(): AgentSnapshot {
    return {
      connected: this.session?.liveStreamId !== undefined,
      used: this.table.used(),
      tasks: this.table.list().map((task) => ({
        frameworkId: task.frameworkId,
        taskId: task.taskId,
        state: task.state,
        runtime: task.runtime,
      })),
      unacknowledgedUpdates: this.updates.unacknowledged().length,
    };
  }

  /**
   * After a restart: tasks whose terminal update was already checkpointed are done; containers
   * that survived are re-attached; every other task is reported terminal once (wasm: TASK_LOST,
   * REASON_AGENT_RESTARTED). Unacknowledged updates were reloaded by the status update manager.
   */
  async recover(): Promise<void> {
    const records = this.checkpoints.list();
    const byRuntime = new Map<Runtime, TaskRecord[]>();
    for (const record of records) {
      const latest = this.updates.latest(record.framework_id, record.task.task_id.value);
      if (latest && isTerminalStatus(latest.status)) {
        await this.checkpoints.remove(record.container_id); // reported before the restart
        continue;
      }
      byRuntime.set(record.runtime, [...(byRuntime.get(record.runtime) ?? []), record]);
    }
    for (const [runtime, group] of byRuntime) await this.recoverRuntime(runtime, group);
    // The checkpoints of tasks that ended before the restart are gone (their removal is made
    // durable before the update journal forgets those tasks: see beforeCompact).
    this.updates.releaseRecovered();
  }

  private async recoverRuntime(runtime: Runtime, records: readonly TaskRecord[]): Promise<void> {
    const containerizer = this.containerizers.get(runtime);
    const recovered = containerizer
      ? await containerizer.recover(
          records.map((record) => ({
            containerId: record.container_id,
            taskId: record.task.task_id.value,
            runtime,
            state: record.container_state ?? {},
          })),
        )
      : {
          running: [],
          terminated: records.map((record) => ({
            containerId: record.container_id,
            termination: lostTermination(
              `the ${runtime} runtime is not available after the restart`,
            ),
          })),
        };
    const ended = new Map(recovered.terminated.map((each) => [each.containerId, each.termination]));
    for (const record of records) {
      const running = this.adopt(record);
      const termination = ended.get(record.container_id);
      if (recovered.running.includes(record.container_id) && containerizer && running) {
        running.launched = true;
        this.track(this.watch(running, containerizer));
      } else {
        const fields =
          termination ?? lostTermination('the container was not found after the agent restarted');
        this.track(this.finish(running, terminalFields(fields, false, record.limitation)));
      }
    }
  }

  /** Puts a checkpointed task back in the table (accounting included) as it was before. */
  private adopt(record: TaskRecord): Running {
    const frameworkId = record.framework_id;
    const info = record.task;
    const state =
      this.updates.latest(frameworkId, info.task_id.value)?.status.state ?? 'TASK_STAGING';
    const decision = this.table.decide(frameworkId, info);
    const resources =
      decision.kind === 'accept' ? decision.resources : { cpus: 0, memMiB: 0, diskMiB: 0 };
    const task = this.table.add({
      frameworkId,
      taskId: info.task_id.value,
      info,
      containerId: record.container_id,
      runtime: record.runtime,
      resources,
      state,
    });
    this.sandboxes.reopen(frameworkId, info.task_id.value, record.container_id, record.sandbox_dir);
    const running: Running = { task, record, lease: undefined, launched: false };
    this.running.set(record.container_id, running);
    return running;
  }

  connect(): void {
    const channel = new AgentChannel({
      masterUrl: this.options.masterUrl,
      signer: new Signer(this.identity, { clock: this.clock }),
      trust: this.options.trust,
      clock: this.clock,
      requestTimeoutMs: this.limits.fetchTimeoutMs,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    this.channel = channel;
    this.session = new AgentSession(
      {
        channel,
        clock: this.clock,
        logger: this.logger.child('session'),
        backoffBaseMs: this.limits.reconnectBackoffBaseMs,
        backoffMaxMs: this.limits.reconnectBackoffMaxMs,
        missedHeartbeatsMax: this.limits.missedHeartbeatsMax,
        random: Math.random,
      },
      {
        subscribeCall: () => this.subscribeCall(),
        connected: (streamId, agentId, intervalMs) =>
          this.connected(channel, streamId, agentId, intervalMs),
        event: (event) => this.onEvent(event, channel),
        disconnected: () => this.disconnected(),
      },
    );
    this.session.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.heartbeat?.();
    this.diskCheck?.();
    await this.trustReloader?.close();
    await this.session?.stop();
    this.updates.disconnected();
    for (const running of this.running.values()) {
      running.task.killRequested = true;
      const containerizer = this.containerizers.get(running.task.runtime);
      // Linux containers are left running on purpose: a restarted agent re-attaches to them.
      if (running.task.runtime === 'wasm' && containerizer)
        await containerizer.kill(running.task.containerId, 0);
    }
    // Stops the watchers of containers that outlive the agent (their tasks stay checkpointed)
    // and removes what the containerizers made and no longer need (the agent's cgroups).
    for (const containerizer of new Set(this.containerizers.values())) await containerizer.close();
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
    await this.updates.close();
    await this.checkpoints.close();
    await this.sandboxes.close();
    await this.executor?.close();
  }

  private agentInfo(): AgentInfo {
    return {
      hostname:
        (this.options.hostname ?? osHostname()).slice(0, fieldLimits.hostnameCharsMax) ||
        'localhost',
      resources: capacityResources(this.table.capacity),
      attributes: [...(this.options.attributes ?? [])],
      runtimes: this.runtimes,
      version: AGENT_VERSION,
    };
  }

  private subscribeCall(): AgentCall {
    const agentId = this.currentAgentId;
    const unavailable =
      this.unavailableRuntimes.length > 0
        ? { unavailable_runtimes: [...this.unavailableRuntimes] }
        : {};
    if (!agentId)
      return { type: 'REGISTER', register: { agent_info: this.agentInfo(), ...unavailable } };
    const pending = this.updates.unacknowledged().slice(0, fieldLimits.tasksMax);
    return {
      type: 'REREGISTER',
      reregister: {
        agent_id: { value: agentId },
        agent_info: this.agentInfo(),
        tasks: this.table
          .list()
          .slice(0, fieldLimits.tasksMax)
          .map((task) => this.taskOf(task, agentId)),
        unacknowledged_updates: pending.map((update) => this.wireUpdate(update, agentId)),
        ...unavailable,
      },
    };
  }

  private taskOf(task: ActiveTask, agentId: string): Task {
    const latest = this.updates.latest(task.frameworkId, task.taskId);
    return {
      name: task.info.name,
      task_id: { value: task.taskId },
      framework_id: { value: task.frameworkId },
      agent_id: { value: agentId },
      state: task.state,
      resources: task.info.resources,
      ...(latest
        ? { status_update_state: latest.status.state, status_update_uuid: latest.uuid }
        : {}),
    };
  }

  private wireUpdate(update: StatusUpdate, agentId: string) {
    const latest = this.updates.latest(update.frameworkId, update.taskId);
    return {
      framework_id: { value: update.frameworkId },
      agent_id: { value: agentId },
      status: {
        ...update.status,
        agent_id: update.status.agent_id ?? { value: agentId },
        uuid: update.uuid,
      },
      ...(latest ? { latest_state: latest.status.state } : {}),
    };
  }

  private async connected(
    channel: AgentChannel,
    streamId: string,
    agentId: string,
    intervalMs: number,
  ): Promise<void> {
    if (agentId !== this.currentAgentId) {
      await writeAgentId(this.options.workDir, agentId);
      this.currentAgentId = agentId;
    }
    this.logger.info('registered with the master', { agentId, master: channel.master });
    this.updates.connected(this.updateTransport(channel, streamId, agentId));
    this.startHeartbeats(channel, streamId, agentId, intervalMs);
  }

  /**
   * Status updates go as one STATUS_UPDATES call; a master that does not know it (400 SCHEMA: an
   * older version) gets them one STATUS_UPDATE call each for the rest of this stream.
   */
  private updateTransport(
    channel: AgentChannel,
    streamId: string,
    agentId: string,
  ): UpdateTransport {
    let batched = true;
    const single = async (update: StatusUpdate): Promise<boolean> => {
      const result = await channel.send(
        { type: 'STATUS_UPDATE', status_update: { update: this.wireUpdate(update, agentId) } },
        streamId,
      );
      return result.ok;
    };
    return {
      send: async (updates) => {
        if (!batched) return Promise.all(updates.map(single));
        const result = await channel.send(
          {
            type: 'STATUS_UPDATES',
            status_updates: {
              agent_id: { value: agentId },
              updates: updates.map((update) => this.wireUpdate(update, agentId)),
            },
          },
          streamId,
        );
        if (result.ok) return takenUpdates(updates.length, result.value);
        if (result.error.status === 400 && result.error.message.includes('"SCHEMA"')) {
          this.logger.info('the master does not take STATUS_UPDATES; sending updates one by one');
          batched = false;
          return Promise.all(updates.map(single));
        }
        return updates.map(() => false);
      },
    };
  }

  private startHeartbeats(
    channel: AgentChannel,
    streamId: string,
    agentId: string,
    intervalMs: number,
  ): void {
    this.heartbeat?.();
    if (intervalMs <= 0) return;
    const beat = (): void => {
      this.heartbeat = this.clock.after(intervalMs, beat);
      void channel
        .send({ type: 'HEARTBEAT', heartbeat: { agent_id: { value: agentId } } }, streamId)
        .then((result) => {
          if (!result.ok) this.logger.debug('heartbeat not accepted', { ...result.error });
        });
    };
    this.heartbeat = this.clock.after(intervalMs, beat);
  }

  private disconnected(): void {
    this.heartbeat?.();
    this.heartbeat = undefined;
    this.updates.disconnected();
  }

  private async onEvent(event: AgentEvent, channel: AgentChannel): Promise<void> {
    switch (event.type) {
      case 'LAUNCH':
        this.launch(event.launch.framework_id.value, event.launch.task);
        return;
      case 'KILL':
        this.kill(
          event.kill.framework_id.value,
          event.kill.task_id.value,
          event.kill.grace_period_ms ?? this.limits.killGracePeriodMs,
        );
        return;
      case 'ACKNOWLEDGE_UPDATE': {
        const { framework_id, task_id, uuid } = event.acknowledge_update;
        await this.updates.acknowledge(framework_id.value, task_id.value, uuid);
        return;
      }
      case 'ACKNOWLEDGE_UPDATES':
        // In order; acknowledgements of one task run one after another in the manager anyway.
        await Promise.all(
          event.acknowledge_updates.acknowledgements.map(({ framework_id, task_id, uuid }) =>
            this.updates.acknowledge(framework_id.value, task_id.value, uuid),
          ),
        );
        return;
      case 'SHUTDOWN_FRAMEWORK':
        for (const task of this.table.byFramework(event.shutdown_framework.framework_id.value)) {
          this.kill(task.frameworkId, task.taskId, this.limits.killGracePeriodMs);
        }
        return;
      case 'RECONCILE':
        await this.reconcile(event.reconcile.tasks);
        return;
      case 'LOGS_REQUEST':
        this.track(this.sendLogs(event.logs_request, channel));
        return;
      case 'ERROR':
        this.logger.warn('the master reported an error', { message: event.error.message });
        return;
      case 'HEARTBEAT':
      case 'REGISTERED':
      case 'REREGISTERED':
        return;
    }
  }

  /** Starts a task; everything after the synchronous accept runs in the background. */
  private launch(frameworkId: string, info: TaskInfo): void {
    if (this.stopping) return;
    const decision = this.table.decide(frameworkId, info);
    if (decision.kind === 'reject') {
      this.logger.warn('refused a task', { task: info.task_id.value, reason: decision.message });
      this.track(
        this.report(frameworkId, info.task_id.value, {
          state: decision.state,
          reason: decision.reason,
          message: decision.message,
        }),
      );
      return;
    }
    const containerId = randomUUID();
    const taskId = info.task_id.value;
    const sandboxDir = this.sandboxes.create(frameworkId, taskId, containerId);
    const task = this.table.add({
      frameworkId,
      taskId,
      info,
      containerId,
      runtime: decision.runtime,
      resources: decision.resources,
      state: 'TASK_STAGING',
    });
    const record: TaskRecord = {
      framework_id: frameworkId,
      container_id: containerId,
      runtime: decision.runtime,
      task: info,
      sandbox_dir: sandboxDir,
    };
    const running: Running = { task, record, lease: undefined, launched: false };
    this.running.set(containerId, running);
    this.track(this.start(running));
  }

  private async start(running: Running): Promise<void> {
    const { task, record } = running;
    const containerizer = this.containerizers.get(task.runtime);
    assert(containerizer !== undefined, 'an accepted task has a containerizer');
    await this.checkpoints.write(record);
    const spec = await this.launchSpec(running);
    if (!spec.ok) return this.finish(running, spec.error);
    if (task.killRequested) return this.finish(running, killedBeforeStart());
    try {
      const state = await containerizer.launch(spec.value);
      running.launched = true;
      // A container with nothing to keep (wasm) recovers the same from the first checkpoint.
      if (Object.keys(state).length > 0) {
        running.record = { ...record, container_state: { ...state } };
        await this.checkpoints.write(running.record);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const invalid =
        (error as { code?: string }).code === 'invalid_wasm' ||
        (error as { code?: string }).code === 'missing_import';
      return this.finish(running, {
        ...terminalFields(
          { exitCode: null, reason: 'launch_failed', message, durationMs: 0 },
          false,
        ),
        ...(invalid ? { reason: 'REASON_WASM_INVALID' as const } : {}),
      });
    }
    task.state = 'TASK_RUNNING';
    await this.report(task.frameworkId, task.taskId, { state: 'TASK_RUNNING' });
    if (task.killRequested)
      await containerizer.kill(task.containerId, this.limits.killGracePeriodMs);
    await this.watch(running, containerizer);
  }

  /** Fetches the component and resolves the task's wasm spec; a terminal status when it cannot. */
  private async launchSpec(running: Running) {
    const { task, record } = running;
    const base = {
      containerId: task.containerId,
      taskId: task.taskId,
      sandboxDir: record.sandbox_dir,
      resources: task.resources,
      runtime: task.runtime,
    };
    if (task.runtime !== 'wasm') {
      const command = task.info.command;
      const environment: Record<string, string> = {};
      for (const variable of command?.environment?.variables ?? [])
        environment[variable.name] = variable.value ?? '';
      return okSpec({
        ...base,
        command: {
          shell: command?.shell ?? true,
          value: command?.value ?? '',
          arguments: command?.arguments ?? [],
          environment,
          ...(command?.user === undefined ? {} : { user: command.user }),
          ...(command?.filesystem === undefined ? {} : { filesystem: command.filesystem }),
        },
      });
    }
    const resolved = resolveWasmSpec(task.info, record.sandbox_dir, {
      timeoutMs: this.limits.defaultWasmTimeoutMs,
      hostPathsAllowed: this.options.hostPathsAllowed ?? [],
    });
    if (!resolved.ok)
      return failSpec({
        state: 'TASK_ERROR',
        reason: 'REASON_PERMISSION_DENIED',
        message: resolved.error,
      });
    const wasm = task.info.wasm;
    assert(wasm !== undefined, 'a wasm task has a wasm section');
    const lease = await this.acquireComponent(wasm.digest, wasm.url);
    if (!lease.ok)
      return failSpec({
        state: 'TASK_FAILED',
        reason: 'REASON_WASM_INVALID',
        message: `component ${wasm.digest}: ${lease.error.message}`,
      });
    running.lease = lease.value;
    for (const preopen of resolved.value.preopens) {
      if (preopen.hostPath.startsWith(record.sandbox_dir))
        await mkdir(preopen.hostPath, { recursive: true });
    }
    return okSpec({ ...base, wasm: { ...resolved.value, componentPath: lease.value.path } });
  }

  /**
   * The task's component from the cache, else downloaded from the master of the current stream
   * (or the task's URL). A download that failed on the way is retried with backoff for
   * componentFetchRetryMs, so a master failover during a launch costs a delay, not the task;
   * a component that is missing, too large or not what its digest says fails at once.
   */
  private async acquireComponent(digest: string, url: string | undefined) {
    const startedMs = this.clock.nowMs();
    for (let attempt = 0; ; attempt++) {
      const sources = [
        `${this.channel?.master ?? ''}/api/v1/blobs/${digest.slice('sha256:'.length)}`,
        ...(url ? [url] : []),
      ];
      const lease = await this.cache.acquire(digest, sources);
      const retryable = !lease.ok && lease.error.code === 'FETCH_FAILED' && !this.stopping;
      const delayMs = backoffDelayMs(attempt, 250, 5_000, 0.2);
      if (
        !retryable ||
        this.clock.nowMs() + delayMs - startedMs > this.limits.componentFetchRetryMs
      )
        return lease;
      this.logger.warn('component download failed; retrying', {
        digest,
        error: lease.error.message,
        delayMs,
      });
      await new Promise<void>((resolve) => this.clock.after(delayMs, resolve));
    }
  }

  private async watch(running: Running, containerizer: Containerizer): Promise<void> {
    let termination: Termination;
    try {
      termination = await containerizer.wait(running.task.containerId);
    } catch (error) {
      // The agent is stopping and the container outlives it: a restarted agent re-attaches.
      if (this.stopping && (error as { code?: string }).code === 'containerizer_closed') return;
      termination = lostTermination(`lost track of the container: ${String(error)}`);
    }
    await this.finish(
      running,
      terminalFields(termination, running.task.killRequested, running.record.limitation),
    );
  }

  /** The end of a task: terminal update checkpointed first, then the task's record removed. */
  private async finish(running: Running, fields: TerminalFields): Promise<void> {
    const { task } = running;
    task.state = fields.state;
    this.table.release(task.frameworkId, task.taskId);
    await this.report(task.frameworkId, task.taskId, fields);
    await this.checkpoints.remove(task.containerId);
    this.table.remove(task.frameworkId, task.taskId);
    this.running.delete(task.containerId);
    running.lease?.release();
    const containerizer = this.containerizers.get(task.runtime);
    if (containerizer instanceof WasmContainerizer) containerizer.forget(task.containerId);
    this.sandboxes.finish(running.record.sandbox_dir);
    this.logger.info('task ended', {
      task: task.taskId,
      state: fields.state,
      reason: fields.reason,
      exitCode: fields.exit_code,
    });
  }

  /** Keeps the master keys in step with the trust directory, when the options name it. */
  async watchTrust(): Promise<void> {
    const dir = this.options.trustDir;
    if (dir === undefined || this.trustReloader) return;
    this.trustReloader = new TrustReloader({
      dir,
      store: this.options.trust,
      select: (loaded) => selectMasterKeys(loaded, dir),
      logger: this.logger.child('trust'),
    });
    await this.trustReloader.reload();
  }

  /**
   * Measures every running task's sandbox against its `disk` every diskCheckIntervalMs (Mesos's
   * disk/du isolator) and kills a task over it. Rounds never overlap: the next is scheduled
   * when one ends.
   */
  watchDisks(): void {
    const intervalMs = this.limits.diskCheckIntervalMs;
    if (intervalMs <= 0 || this.stopping) return;
    this.diskCheck = this.clock.after(intervalMs, () => {
      this.diskCheck = undefined;
      this.track(this.checkDisks().finally(() => this.watchDisks()));
    });
  }

  private async checkDisks(): Promise<void> {
    for (const running of [...this.running.values()]) {
      const { task } = running;
      if (this.stopping) return;
      if (!running.launched || task.killRequested || running.record.limitation) continue;
      if (!(task.resources.diskMiB > 0)) continue;
      let usage;
      try {
        usage = await measureDiskUsage(running.record.sandbox_dir, this.limits.diskScanEntriesMax);
      } catch (error) {
        this.logger.warn('could not measure a sandbox', {
          task: task.taskId,
          error: String(error),
        });
        continue;
      }
      const limitation = diskLimitation(usage, task.resources.diskMiB);
      if (!limitation || !this.running.has(task.containerId)) continue;
      await this.enforce(running, limitation);
    }
  }

  /** Records why (checkpointed first, so a restart reports the same), then kills at once. */
  private async enforce(running: Running, limitation: Limitation): Promise<void> {
    const { task } = running;
    running.record = { ...running.record, limitation };
    await this.checkpoints.write(running.record);
    this.logger.warn('task over a limit: killing it', {
      task: task.taskId,
      reason: limitation.reason,
      message: limitation.message,
    });
    await this.containerizers.get(task.runtime)?.kill(task.containerId, 0);
  }

  private kill(frameworkId: string, taskId: string, gracePeriodMs: number): void {
    const task = this.table.get(frameworkId, taskId);
    if (!task) {
      if (this.updates.latest(frameworkId, taskId)) return; // ended here; its updates are on their way
      this.track(
        this.report(frameworkId, taskId, {
          state: 'TASK_DROPPED',
          reason: 'REASON_TASK_UNKNOWN',
          message: 'kill: this agent does not know the task',
        }),
      );
      return;
    }
    task.killRequested = true;
    const running = this.running.get(task.containerId);
    const containerizer = this.containerizers.get(task.runtime);
    if (running?.launched && containerizer)
      this.track(containerizer.kill(task.containerId, gracePeriodMs));
  }

  private async reconcile(
    tasks: ReadonlyArray<{ framework_id: { value: string }; task_id: { value: string } }>,
  ): Promise<void> {
    const wanted =
      tasks.length > 0
        ? tasks.map((each) => ({
            frameworkId: each.framework_id.value,
            taskId: each.task_id.value,
          }))
        : this.table.list();
    for (const { frameworkId, taskId } of wanted) {
      const latest = this.updates.latest(frameworkId, taskId);
      const waiting = this.updates
        .unacknowledged()
        .some((update) => update.frameworkId === frameworkId && update.taskId === taskId);
      if (waiting) continue; // an unacknowledged update is already being resent
      if (latest && !isTerminalStatus(latest.status)) {
        const { uuid: _uuid, timestamp: _timestamp, ...again } = latest.status;
        await this.report(frameworkId, taskId, { ...again, reason: 'REASON_RECONCILIATION' });
      } else if (!latest && !this.table.get(frameworkId, taskId)) {
        await this.report(frameworkId, taskId, {
          state: 'TASK_DROPPED',
          reason: 'REASON_RECONCILIATION',
          message: 'this agent does not know the task',
        });
      }
    }
  }

  private async sendLogs(
    request: {
      request_id: string;
      framework_id: { value: string };
      task_id: { value: string };
      stream: LogStream;
      offset?: number;
      length: number;
    },
    channel: AgentChannel,
  ): Promise<void> {
    const agentId = this.currentAgentId;
    const streamId = this.session?.liveStreamId;
    if (!agentId || !streamId) return;
    const frameworkId = request.framework_id.value;
    const taskId = request.task_id.value;
    const dir = this.sandboxes.find(frameworkId, taskId);
    const length = Math.min(request.length, this.limits.logChunkBytesMax);
    const chunk = dir ? readLog(dir, request.stream, request.offset, length) : undefined;
    const result = await channel.send(
      {
        type: 'LOGS',
        logs: {
          agent_id: { value: agentId },
          request_id: request.request_id,
          framework_id: request.framework_id,
          task_id: request.task_id,
          stream: request.stream,
          offset: chunk?.offset ?? 0,
          data: Buffer.from(chunk?.data ?? new Uint8Array(0)).toString('base64'),
          size: chunk?.size ?? 0,
          complete: !this.table.get(frameworkId, taskId),
          ...(chunk ? {} : { error: `no logs for task ${taskId} on this agent` }),
        },
      },
      streamId,
    );
    if (!result.ok) this.logger.debug('logs not delivered', { ...result.error });
  }

  /** Checkpoints and queues one status update for a task. */
  private async report(
    frameworkId: string,
    taskId: string,
    fields: Omit<TaskStatus, 'task_id'>,
  ): Promise<void> {
    const status: TaskStatus = {
      ...fields,
      task_id: { value: taskId },
      source: 'SOURCE_AGENT',
      timestamp: this.clock.nowMs() / 1000,
      uuid: newStatusUuid(),
      ...(this.currentAgentId ? { agent_id: { value: this.currentAgentId } } : {}),
    };
    const outcome = await this.updates.update(frameworkId, status);
    if (outcome !== 'queued')
      this.logger.warn('status update not queued', { task: taskId, state: status.state, outcome });
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) =>
      this.logger.error('agent task work failed', { error: String(error) }),
    );
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }
}

type SpecResult =
  | { readonly ok: true; readonly value: import('./containerizer/containerizer.js').LaunchSpec }
  | { readonly ok: false; readonly error: TerminalFields };

function okSpec(value: import('./containerizer/containerizer.js').LaunchSpec): SpecResult {
  return { ok: true, value };
}

function failSpec(error: TerminalFields): SpecResult {
  return { ok: false, error: { ...error, duration_ms: 0, fuel_consumed: 0, peak_memory_bytes: 0 } };
}

function lostTermination(message: string): Termination {
  return { exitCode: null, reason: 'lost', message, durationMs: 0 };
}

function killedBeforeStart(): TerminalFields {
  return {
    state: 'TASK_KILLED',
    reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
    message: 'killed before it started',
    duration_ms: 0,
    fuel_consumed: 0,
    peak_memory_bytes: 0,
  };
}

/** The runtimes this host can offer, unless the options name them; wasm always works. */
async function buildContainerizers(
  options: AgentOptions,
  limits: AgentLimits,
  identity: Identity,
  clock: Clock,
  logger: Logger,
): Promise<{
  containerizers: Map<Runtime, Containerizer>;
  executor: Executor | undefined;
  unsupported: Partial<Record<Runtime, readonly string[]>>;
}> {
  const wanted = new Set<Runtime>(options.runtimes ?? ['wasm', 'linux']);
  const containerizers = new Map<Runtime, Containerizer>();
  let executor: Executor | undefined;
  if (wanted.has('wasm')) {
    const given = options.containerizers?.wasm;
    if (given) containerizers.set('wasm', given);
    else {
      executor = new Executor({
        workDir: join(options.workDir, 'executor'),
        logger: logger.child('executor'),
      });
      if (options.warmComponentTools ?? true) warmInBackground(executor, logger);
      containerizers.set(
        'wasm',
        new WasmContainerizer({
          executor,
          clock,
          logger: logger.child('wasm'),
          logBytesMax: limits.logBytesMax,
          logRotationsKept: limits.logRotationsKept,
          outputBytesMax: limits.wasmOutputBytesMax,
        }),
      );
    }
  }
  const unsupported: Partial<Record<Runtime, readonly string[]>> = {};
  if (wanted.has('linux')) {
    const given = options.containerizers?.linux;
    const linux = given
      ? { ok: true as const, value: given }
      : await linuxContainerizer(options, identity, logger);
    if (linux.ok) containerizers.set('linux', linux.value);
    else unsupported.linux = linux.reasons;
  }
  return { containerizers, executor, unsupported };
}

/** The Linux containerizer when its capability check passes here; else why not. */
async function linuxContainerizer(
  options: AgentOptions,
  identity: Identity,
  logger: Logger,
): Promise<
  | { readonly ok: true; readonly value: Containerizer }
  | { readonly ok: false; readonly reasons: readonly string[] }
> {
  const { linuxCapabilities } = await import('./containerizer/linux/capabilities.js');
  const capabilities = await linuxCapabilities();
  if (!capabilities.ok) return { ok: false, reasons: capabilities.reasons };
  const { LinuxContainerizer } = await import('./containerizer/linux/linux-containerizer.js');
  const value = new LinuxContainerizer(capabilities, {
    // Stable across restarts (the key is), so a restarted agent finds its own cgroups.
    agentName: `agent-${identity.keyId}`,
    runDir: join(options.workDir, 'linux'),
    ...(options.linuxFilesystem === undefined ? {} : { filesystem: options.linuxFilesystem }),
    logger: logger.child('linux'),
  });
  return { ok: true, value };
}

function warmInBackground(executor: Executor, logger: Logger): void {
  const startedMs = performance.now();
  executor.warm({ componentTools: true }).then(
    () =>
      logger.debug('component tools warmed', {
        ms: Math.round(performance.now() - startedMs),
      }),
    // The agent stopped (and closed the executor) before the warm-up ended: nothing to do.
    (error: unknown) =>
      logger.debug('component tools warm-up ended early', {
        error: error instanceof Error ? error.message : String(error),
      }),
  );
}
