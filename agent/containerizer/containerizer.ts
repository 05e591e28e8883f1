/**
 * The containerizer interface (Mesos's verbs): every runtime an agent offers
 * (`wasm`, `linux`) plugs in behind it, and the agent's task lifecycle talks
 * only to this. Each implementation runs the shared conformance suite in
 * test/agent/containerizer-suite.ts (skipped cases carry a written reason).
 */
export type Runtime = 'wasm' | 'linux';
export type ContainerId = string;

/** What a task asked for; a containerizer enforces these as hard limits. */
export interface ContainerResources {
  /** Fractional CPUs, e.g. 0.5. */
  readonly cpus: number;
  readonly memMiB: number;
  readonly diskMiB: number;
}

export interface CommandSpec {
  /**
   * true: run `value` with `/bin/sh -c`. false: as Mesos, exec the executable `value` with
   * `arguments` as its argv (`execlp(value, arguments[0], arguments[1], ...)`); the task sees the
   * path it was started by as argv[0], whatever `arguments[0]` says.
   */
  readonly shell: boolean;
  readonly value: string;
  readonly arguments: readonly string[];
  /** The task's environment, and nothing else of the agent's. */
  readonly environment: Readonly<Record<string, string>>;
  /** Unprivileged user to run as; the containerizer's default when absent. */
  readonly user?: string;
  /** `none`: a network namespace of its own (no network); `host`: the agent's. Containerizer default when absent. */
  readonly network?: 'none' | 'host';
  /**
   * `read-only`: the host's files read-only except the sandbox and scratch dirs; `writable`: the
   * user's permissions. The containerizer's default when absent; a task cannot loosen it.
   */
  readonly filesystem?: 'writable' | 'read-only';
}

export interface LaunchSpec {
  readonly containerId: ContainerId;
  readonly taskId: string;
  /** The task's sandbox directory (created by the agent): cwd, and where stdout/stderr are kept. */
  readonly sandboxDir: string;
  readonly resources: ContainerResources;
  readonly runtime: Runtime;
  /** For `linux` tasks. */
  readonly command?: CommandSpec;
  /** For `wasm` tasks. */
  readonly wasm?: WasmSpec;
}

/** A host directory a wasm task sees at `guestPath` (read-only unless `writable`). */
export interface WasmPreopen {
  readonly hostPath: string;
  readonly guestPath: string;
  readonly writable: boolean;
}

/**
 * What a wasm task runs and may touch, resolved by the agent from the task's `wasm` info and
 * resources: the component is already fetched and verified, paths are already confined.
 */
export interface WasmSpec {
  /** The verified component (or core module) in the agent's cache; `digest` names its content. */
  readonly componentPath: string;
  readonly digest: string;
  readonly fuel: number;
  readonly memoryBytesMax: number;
  readonly timeoutMs: number;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly preopens: readonly WasmPreopen[];
  /** `host:port` patterns the task may connect to; empty denies all. */
  readonly netAllow: readonly string[];
  readonly entrypoint: 'command' | 'handler';
  /** Input bytes for a `handler` component. */
  readonly input?: Uint8Array;
}

/** Why a container ended; maps onto task states and reasons in the master. */
export type TerminationReason =
  | 'exited'
  | 'killed'
  | 'memory_limit'
  | 'fuel_exhausted'
  | 'timeout'
  | 'trap'
  | 'stack_overflow'
  | 'launch_failed'
  | 'lost';

export interface Termination {
  /** null when the process did not exit by itself (signal, kill, lost). */
  readonly exitCode: number | null;
  readonly signal?: string;
  readonly reason: TerminationReason;
  readonly message: string;
  readonly durationMs: number;
  readonly fuelConsumed?: number;
  readonly peakMemoryBytes?: number;
  readonly cpuTimeMs?: number;
}

export interface ResourceUsage {
  readonly cpuTimeMs: number;
  readonly memoryBytes: number;
  readonly peakMemoryBytes: number;
  readonly fuelConsumed?: number;
}

/** What the agent checkpointed about a container before it restarted. */
export interface CheckpointedContainer {
  readonly containerId: ContainerId;
  readonly taskId: string;
  readonly runtime: Runtime;
  /** Implementation-specific state the containerizer asked the agent to keep. */
  readonly state: Readonly<Record<string, unknown>>;
}

export interface RecoveredContainers {
  /** Still running: `wait` works on these again. */
  readonly running: readonly ContainerId[];
  /** Ended while the agent was down, with their real final status where it could be learned. */
  readonly terminated: ReadonlyArray<{
    readonly containerId: ContainerId;
    readonly termination: Termination;
  }>;
}

export interface Containerizer {
  readonly runtime: Runtime;
  /**
   * Starts the container; resolves once it is running (or rejects with a typed
   * WasmosError if it could not start). Returns the state to checkpoint.
   */
  launch(spec: LaunchSpec): Promise<Readonly<Record<string, unknown>>>;
  /** Resolves once with the container's termination; may be called more than once. */
  wait(containerId: ContainerId): Promise<Termination>;
  /** Asks it to stop, forces it after `gracePeriodMs`; resolves when nothing of it is left. Unknown ids are fine. */
  kill(containerId: ContainerId, gracePeriodMs: number): Promise<void>;
  usage(containerId: ContainerId): Promise<ResourceUsage | undefined>;
  /** After an agent restart: re-attach to what still runs, report what ended. */
  recover(checkpointed: readonly CheckpointedContainer[]): Promise<RecoveredContainers>;
  /**
   * At agent stop, after the agent killed what must not outlive it: stops watching, lets
   * launches in flight settle, and removes what this containerizer made on the host and no
   * longer needs. Containers that survive a restart keep running. `wait` on a container still
   * running then rejects with code `containerizer_closed`. Idempotent.
   */
  close(): Promise<void>;
}
