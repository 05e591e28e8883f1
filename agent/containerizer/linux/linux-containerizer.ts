/**
 * The `linux` runtime: command tasks in a cgroup of their own (cpu, memory, pids; v1 or v2) and
 * in new PID, mount, UTS, IPC and (optionally) network namespaces, as an unprivileged user, each
 * under a detached supervisor (supervisor.ts) so that a restarted agent can re-attach.
 *
 *   const caps = await linuxCapabilities();
 *   if (caps.ok) containerizer = new LinuxContainerizer(caps, { agentName, runDir });
 */
import { spawn } from 'node:child_process';
import { chown, mkdir, open, readdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WasmosError } from '../../../lib/errors.js';
import { silentLogger, type Logger } from '../../../lib/log.js';
import type {
  CheckpointedContainer,
  Containerizer,
  ContainerId,
  LaunchSpec,
  RecoveredContainers,
  ResourceUsage,
  Termination,
} from '../containerizer.js';
import type { CgroupBackend } from './cgroups/backend.js';
import { nodeCgroupFs, type CgroupFs } from './cgroups/fs.js';
import { createCgroupBackend } from './cgroups/index.js';
import { subsystemRegistry } from './cgroups/subsystems/index.js';
import { memoryLimitBytes } from './cgroups/subsystems/memory.js';
import type { CgroupLimits, Subsystem } from './cgroups/subsystem.js';
import type { Capabilities } from './capabilities.js';
import { checkContainerId } from './container-id.js';
import { fileExists } from './files.js';
import {
  killSettleTimeoutMs,
  launchTimeoutMsDefault,
  pidsMaxDefault,
  pollIntervalMsDefault,
  rmdirRetryMs,
  rmRetriesMax,
} from './limits.js';
import { FILESYSTEM_MODES, SCRATCH_DIRS, type FilesystemMode } from './namespaces/filesystem.js';
import { buildLaunchCommand, type NetworkMode } from './namespaces/launch.js';
import { isAlive, readProcessIdentity, type ProcessIdentity } from './process-identity.js';
import { readJsonFile, readTermination, RUN_FILES, writeFileAtomic } from './run-dir.js';
import {
  parseCheckpointState,
  parseProcessIdentity,
  parseRunning,
  parseSupervisorSpec,
  type CheckpointState,
  type SupervisorSpec,
} from './run-records.js';
import { lostTermination } from './termination.js';
import { resolveTaskUser } from './users.js';
import { watchUntil } from './watch.js';

type SubsystemName = Subsystem['name'];

export interface LinuxContainerizerOptions {
  /** Names this agent's cgroups: `<hierarchy>/<cgroupRoot>/<agentName>/<containerId>`. */
  readonly agentName: string;
  /** Where each container's run directory lives; must survive an agent restart. */
  readonly runDir: string;
  readonly cgroupRoot?: string;
  /** Who tasks run as unless they name a user; default `nobody`. */
  readonly user?: string;
  /** Whether a task may run as root; default false. */
  readonly allowRoot?: boolean;
  /** Default `none` (a network namespace of its own); a task's command may override it. */
  readonly network?: NetworkMode;
  /**
   * Default `writable` (the host's files with the permissions of the task's user); `read-only`:
   * every mount read-only for the task except its sandbox and its private /tmp, /var/tmp and
   * /dev/shm.
   */
  readonly filesystem?: FilesystemMode;
  /** Cap CPU time at the task's `cpus` with a CFS quota (else shares/weight only); default true. */
  readonly cfsQuota?: boolean;
  readonly pidsMax?: number;
  /** Which cgroup subsystems to use (Mesos's `--isolation`); default all. */
  readonly subsystems?: readonly SubsystemName[];
  readonly launchTimeoutMs?: number;
  readonly pollIntervalMs?: number;
  readonly logger?: Logger;
  readonly fs?: CgroupFs;
}

interface Entry {
  readonly state: CheckpointState;
  readonly termination: Promise<Termination>;
  settled?: Termination;
}

const SUPERVISOR_PATH = new URL('./supervisor.js', import.meta.url).pathname;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // it exited meanwhile
  }
}

/** The scratch directories this host has, as real paths, each once (/var/tmp may be /tmp). */
async function existingScratchDirs(): Promise<string[]> {
  const found = new Set<string>();
  for (const dir of SCRATCH_DIRS) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined && real !== '/') found.add(real);
  }
  return [...found];
}

function checkResources(spec: LaunchSpec): void {
  const { cpus, memMiB } = spec.resources;
  if (!(Number.isFinite(cpus) && cpus > 0)) {
    throw new WasmosError('invalid_resources', `cpus must be a positive number (got ${cpus})`);
  }
  if (!(Number.isFinite(memMiB) && memMiB > 0)) {
    throw new WasmosError(
      'invalid_resources',
      `mem must be a positive number of MiB (got ${memMiB})`,
    );
  }
}

export class LinuxContainerizer implements Containerizer {
  readonly runtime = 'linux';
  private readonly entries = new Map<ContainerId, Entry>();
  private readonly closing = new AbortController();
  /** Launches in flight, so that close() removes the agent's cgroup only once they settled. */
  private readonly launches = new Set<Promise<unknown>>();
  private readonly backend: CgroupBackend;
  private readonly fs: CgroupFs;
  private readonly logger: Logger;
  private readonly subsystemNames: readonly SubsystemName[];

  constructor(
    private readonly capabilities: Extract<Capabilities, { ok: true }>,
    private readonly options: LinuxContainerizerOptions,
  ) {
    checkContainerId(options.agentName);
    if (options.filesystem !== undefined && !FILESYSTEM_MODES.includes(options.filesystem)) {
      throw new WasmosError(
        'invalid_option',
        `filesystem must be one of ${FILESYSTEM_MODES.join(', ')} (got ${String(options.filesystem)})`,
      );
    }
    const pidsMax = options.pidsMax ?? pidsMaxDefault;
    if (!Number.isSafeInteger(pidsMax) || pidsMax < 1) {
      throw new WasmosError(
        'invalid_option',
        `pidsMax must be a positive integer (got ${pidsMax})`,
      );
    }
    this.fs = options.fs ?? nodeCgroupFs;
    this.logger = (options.logger ?? silentLogger).child('linux');
    this.subsystemNames = options.subsystems ?? ['cpu', 'memory', 'pids'];
    const subsystems = this.subsystemNames.map((name) => subsystemRegistry[name]);
    this.backend = createCgroupBackend(this.fs, capabilities.layout, subsystems);
  }

  get cgroupVersion(): 'v1' | 'v2' {
    return this.backend.version;
  }

  async launch(spec: LaunchSpec): Promise<Readonly<Record<string, unknown>>> {
    const launching = this.launchOnce(spec);
    const settled = launching.catch(() => undefined);
    this.launches.add(settled);
    void settled.finally(() => this.launches.delete(settled));
    return launching;
  }

  private async launchOnce(spec: LaunchSpec): Promise<Readonly<Record<string, unknown>>> {
    checkContainerId(spec.containerId);
    checkResources(spec);
    const command = spec.command;
    if (spec.runtime !== 'linux' || command === undefined) {
      throw new WasmosError(
        'invalid_launch',
        'a linux container needs runtime "linux" and a command',
      );
    }
    const runDir = join(this.options.runDir, spec.containerId);
    if (this.entries.has(spec.containerId) || (await fileExists(runDir))) {
      throw new WasmosError('container_exists', `container ${spec.containerId} already exists`);
    }
    const filesystem = this.filesystemFor(command.filesystem);
    const user = await resolveTaskUser(
      command.user ?? this.options.user ?? 'nobody',
      this.options.allowRoot ?? false,
    );
    await chown(spec.sandboxDir, user.uid, user.gid);
    const cgroup = this.backend.pathsFor(this.cgroupName(spec.containerId));
    const limits = this.limitsFor(spec);
    try {
      await this.backend.create(cgroup, limits);
    } catch (error) {
      await this.backend.destroy(cgroup).catch(() => undefined);
      throw new WasmosError('launch_failed', `cannot create the cgroup: ${messageOf(error)}`);
    }
    const launch = buildLaunchCommand({
      tools: this.capabilities.tools,
      procsFiles: this.backend.procsFiles(cgroup),
      network: command.network ?? this.options.network ?? 'none',
      filesystem,
      sandboxDir: await realpath(spec.sandboxDir),
      scratchDirs: await existingScratchDirs(),
      uid: user.uid,
      gid: user.gid,
      command,
    });
    const supervisorSpec: SupervisorSpec = {
      containerId: spec.containerId,
      sandboxDir: spec.sandboxDir,
      layout: this.capabilities.layout,
      subsystems: [...this.subsystemNames],
      cgroup,
      file: launch.file,
      args: [...launch.args],
      env: launch.env,
      uid: user.uid,
      gid: user.gid,
      memLimitBytes: limits.memBytes,
      stdoutPath: join(spec.sandboxDir, 'stdout'),
      stderrPath: join(spec.sandboxDir, 'stderr'),
    };
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(runDir, RUN_FILES.spec), JSON.stringify(supervisorSpec));
    const supervisor = await this.startSupervisor(runDir);
    const state: CheckpointState = { runDir, supervisor, cgroup };
    await this.awaitRunning(spec.containerId, state);
    this.attach(spec.containerId, state);
    this.logger.info('container launched', { containerId: spec.containerId, pid: supervisor.pid });
    return { ...state };
  }

  wait(containerId: ContainerId): Promise<Termination> {
    const entry = this.entries.get(containerId);
    if (!entry) {
      return Promise.reject(
        new WasmosError('unknown_container', `no linux container ${containerId} on this agent`),
      );
    }
    return entry.termination;
  }

  async kill(containerId: ContainerId, gracePeriodMs: number): Promise<void> {
    const entry = this.entries.get(containerId);
    if (!entry) return;
    const { runDir, cgroup } = entry.state;
    if (!entry.settled) {
      await writeFileAtomic(join(runDir, RUN_FILES.killRequested), '').catch(() => undefined);
      await this.backend.signalAll(cgroup, 'SIGTERM');
      if (!(await this.settlesWithin(entry, gracePeriodMs))) {
        await this.backend.killAll(cgroup);
        if (!(await this.settlesWithin(entry, killSettleTimeoutMs))) {
          throw new WasmosError(
            'kill_timeout',
            `container ${containerId} did not end after SIGKILL`,
          );
        }
      }
    }
    await this.backend.destroy(cgroup);
  }

  async usage(containerId: ContainerId): Promise<ResourceUsage | undefined> {
    const entry = this.entries.get(containerId);
    if (!entry) return undefined;
    const ended = entry.settled ?? (await readTermination(entry.state.runDir));
    if (!ended) {
      const usage = await this.backend.usage(entry.state.cgroup);
      return {
        cpuTimeMs: usage.cpuTimeMs,
        memoryBytes: usage.memoryBytes,
        peakMemoryBytes: usage.peakMemoryBytes,
      };
    }
    return {
      cpuTimeMs: ended.cpuTimeMs ?? 0,
      memoryBytes: 0,
      peakMemoryBytes: ended.peakMemoryBytes ?? 0,
    };
  }

  async recover(checkpointed: readonly CheckpointedContainer[]): Promise<RecoveredContainers> {
    const running: ContainerId[] = [];
    const terminated: { containerId: ContainerId; termination: Termination }[] = [];
    const known = new Set<string>();
    for (const container of checkpointed) {
      if (container.runtime !== 'linux') continue;
      known.add(container.containerId);
      const state = parseCheckpointState(container.state);
      if (!state) {
        const termination = lostTermination('the checkpointed container state is unreadable', 0);
        terminated.push({ containerId: container.containerId, termination });
        continue;
      }
      const outcome = await this.recoverOne(container.containerId, state);
      if (outcome === 'running') running.push(container.containerId);
      else terminated.push({ containerId: container.containerId, termination: outcome });
    }
    await this.removeOrphans(known);
    return { running, terminated };
  }

  /**
   * Stops watching (agent shutdown); containers keep running under their supervisors. Once the
   * launches in flight settled, removes this agent's cgroup parent (`wasmos/<agentName>`) when
   * no container is left in it, so a clean stop leaves no empty directory behind.
   */
  async close(): Promise<void> {
    this.closing.abort();
    while (this.launches.size > 0) await Promise.allSettled([...this.launches]);
    await this.backend
      .removeIfEmpty(join(this.options.cgroupRoot ?? 'wasmos', this.options.agentName))
      .catch((error: unknown) =>
        this.logger.warn('could not remove the agent cgroup', { error: messageOf(error) }),
      );
  }

  /** The task's choice, which may make the agent's default stricter but never looser. */
  private filesystemFor(asked: FilesystemMode | undefined): FilesystemMode {
    const agentMode = this.options.filesystem ?? 'writable';
    if (asked === undefined) return agentMode;
    if (!FILESYSTEM_MODES.includes(asked)) {
      throw new WasmosError('invalid_launch', `unknown filesystem mode "${String(asked)}"`);
    }
    if (agentMode === 'read-only' && asked === 'writable') {
      throw new WasmosError(
        'filesystem_not_allowed',
        'this agent runs linux tasks with a read-only filesystem; a task cannot ask for writable',
      );
    }
    return asked;
  }

  private cgroupName(containerId: ContainerId): string {
    return join(this.options.cgroupRoot ?? 'wasmos', this.options.agentName, containerId);
  }

  private limitsFor(spec: LaunchSpec): CgroupLimits {
    return {
      cpus: spec.resources.cpus,
      memBytes: memoryLimitBytes(spec.resources.memMiB * 1024 * 1024),
      pidsMax: this.options.pidsMax ?? pidsMaxDefault,
      cfsQuota: this.options.cfsQuota ?? true,
    };
  }

  private async startSupervisor(runDir: string): Promise<ProcessIdentity> {
    const log = await open(join(runDir, RUN_FILES.log), 'a', 0o600);
    try {
      const child = spawn(process.execPath, [SUPERVISOR_PATH, runDir], {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        cwd: runDir,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      child.unref();
      const pid = child.pid;
      const identity = pid === undefined ? undefined : await readProcessIdentity(pid);
      if (!identity) throw new WasmosError('launch_failed', 'the supervisor process did not start');
      return identity;
    } finally {
      await log.close();
    }
  }

  /** Resolves once the task runs; on failure cleans up and rejects with the reason. */
  private async awaitRunning(containerId: ContainerId, state: CheckpointState): Promise<void> {
    const outcome = await watchUntil(
      state.runDir,
      async () => {
        if (await readJsonFile(join(state.runDir, RUN_FILES.running), parseRunning))
          return 'running';
        const ended = await readTermination(state.runDir);
        if (ended) return ended.message;
        return (await isAlive(state.supervisor))
          ? undefined
          : 'the supervisor exited before the task ran';
      },
      {
        pollIntervalMs: this.pollIntervalMs(),
        timeoutMs: this.options.launchTimeoutMs ?? launchTimeoutMsDefault,
      },
    );
    if (outcome.kind === 'found' && outcome.value === 'running') return;
    const why = outcome.kind === 'found' ? outcome.value : `no start within the launch timeout`;
    await this.discard(state);
    throw new WasmosError('launch_failed', `container ${containerId}: ${why}`);
  }

  /** After a failed launch: nothing of it may stay, not even its run directory. */
  private async discard(state: CheckpointState): Promise<void> {
    await this.killAndReap(state.supervisor);
    await this.backend.destroy(state.cgroup).catch(() => undefined);
    await rm(state.runDir, { recursive: true, force: true, maxRetries: rmRetriesMax });
  }

  /** SIGKILLs a supervisor and waits (bounded) until it is gone, so it writes nothing more. */
  private async killAndReap(supervisor: ProcessIdentity): Promise<void> {
    if (!(await isAlive(supervisor))) return;
    killQuietly(supervisor.pid);
    const deadline = Date.now() + killSettleTimeoutMs;
    while ((await isAlive(supervisor)) && Date.now() < deadline) await sleep(rmdirRetryMs);
  }

  private pollIntervalMs(): number {
    return this.options.pollIntervalMs ?? pollIntervalMsDefault;
  }

  private attach(containerId: ContainerId, state: CheckpointState): Entry {
    const termination = watchUntil(state.runDir, () => this.checkEnded(state), {
      pollIntervalMs: this.pollIntervalMs(),
      signal: this.closing.signal,
    }).then(async (outcome) => {
      if (outcome.kind !== 'found') {
        throw new WasmosError('containerizer_closed', 'the containerizer stopped watching');
      }
      // The supervisor removes the cgroup just after recording the end; waiting for that here
      // means an ended container has left nothing on the host.
      await this.backend
        .destroy(state.cgroup)
        .catch((error: unknown) =>
          this.logger.warn('could not remove a container cgroup', { error: messageOf(error) }),
        );
      entry.settled = outcome.value;
      return outcome.value;
    });
    // A waiter may never come (the agent died); the rejection on close is not an error then.
    termination.catch(() => undefined);
    const entry: Entry = { state, termination };
    this.entries.set(containerId, entry);
    return entry;
  }

  private async checkEnded(state: CheckpointState): Promise<Termination | undefined> {
    const ended = await readTermination(state.runDir);
    if (ended) return ended;
    if (await isAlive(state.supervisor)) return undefined;
    // The supervisor may have written the file just before exiting.
    return (await readTermination(state.runDir)) ?? this.declareLost(state);
  }

  /** The supervisor vanished without a word: kill what is left, and record the loss once. */
  private async declareLost(state: CheckpointState): Promise<Termination> {
    await this.backend.destroy(state.cgroup);
    const termination = lostTermination(
      'the container supervisor exited without recording how the task ended; its processes were killed',
      0,
    );
    await writeFileAtomic(join(state.runDir, RUN_FILES.termination), JSON.stringify(termination));
    this.logger.warn('container lost', { runDir: state.runDir });
    return termination;
  }

  private async settlesWithin(entry: Entry, timeoutMs: number): Promise<boolean> {
    if (entry.settled) return true;
    const timer = sleep(timeoutMs, false, { signal: this.closing.signal }).catch(() => false);
    return Promise.race([entry.termination.then(() => true), timer]);
  }

  private async recoverOne(
    containerId: ContainerId,
    state: CheckpointState,
  ): Promise<'running' | Termination> {
    const existing = this.entries.get(containerId);
    if (existing) return existing.settled ?? 'running';
    // Look first, then watch: the watcher then finds whatever this check recorded.
    const ended = await this.checkEnded(state);
    this.attach(containerId, state);
    return ended ?? 'running';
  }

  /** Run directories the agent no longer knows (a launch cut short by a crash, old tasks). */
  private async removeOrphans(known: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.options.runDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (known.has(name) || this.entries.has(name)) continue;
      const runDir = join(this.options.runDir, name);
      // The supervisor goes first: once its task dies it would write into the run directory
      // while it is being removed.
      const supervisor = await readJsonFile(
        join(runDir, RUN_FILES.supervisor),
        parseProcessIdentity,
      );
      if (supervisor) await this.killAndReap(supervisor);
      const spec = await readJsonFile(join(runDir, RUN_FILES.spec), parseSupervisorSpec);
      if (spec) await this.backend.destroy(spec.cgroup);
      await rm(runDir, { recursive: true, force: true, maxRetries: rmRetriesMax });
      this.logger.info('removed orphaned container', { containerId: name });
    }
  }
}
