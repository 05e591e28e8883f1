import { readFile } from 'node:fs/promises';
import { assert } from '../../../lib/assert.js';
import type { Clock } from '../../../lib/clock.js';
import { WasmosError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { LruMap } from '../../../lib/lru.js';
import type { Executor, PreparedModule } from '../../../wasi-executor/executor.js';
import type { TaskResult } from '../../../wasi-executor/types.js';
import { RotatingLog } from '../../sandbox/rotating-log.js';
import type {
  CheckpointedContainer,
  ContainerId,
  Containerizer,
  LaunchSpec,
  RecoveredContainers,
  ResourceUsage,
  Termination,
  TerminationReason,
} from '../containerizer.js';

export interface WasmContainerizerOptions {
  readonly executor: Executor;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Sandbox log rotation (agentLimits.logBytesMax, logRotationsKept). */
  readonly logBytesMax: number;
  readonly logRotationsKept: number;
  /** Bytes a task may print per stream (agentLimits.wasmOutputBytesMax). */
  readonly outputBytesMax: number;
}

interface Container {
  readonly startedMs: number;
  readonly abort: AbortController;
  readonly ended: Promise<Termination>;
  termination: Termination | undefined;
}

/**
 * Runs wasm tasks through the executor: one worker isolate per task, with the task's fuel,
 * memory cap, timeout and preopens; stdout/stderr go to the sandbox's rotated logs. Kill aborts
 * the run at once: a wasm guest has no signal handlers, so there is nothing a grace period could
 * let it do, and `gracePeriodMs` is ignored. A task runs inside the agent process, so none
 * survives an agent restart: `recover` reports every checkpointed container as lost.
 */
export class WasmContainerizer implements Containerizer {
  readonly runtime = 'wasm' as const;
  private readonly containers = new Map<ContainerId, Container>();
  /**
   * Prepared modules by the digest the component cache verified its file against, so a task of
   * a component run before skips reading and hashing the file (the executor keeps the compiled
   * code either way).
   */
  private readonly prepared = new LruMap<string, PreparedModule>(PREPARED_BY_DIGEST_MAX);

  constructor(private readonly options: WasmContainerizerOptions) {}

  async launch(spec: LaunchSpec): Promise<Readonly<Record<string, unknown>>> {
    if (this.containers.has(spec.containerId)) {
      throw new WasmosError('duplicate_container', `container ${spec.containerId} already exists`);
    }
    const wasm = spec.wasm;
    if (spec.runtime !== 'wasm' || !wasm) {
      throw new WasmosError('invalid_spec', 'the wasm containerizer runs tasks with a wasm spec');
    }
    const prepared = await this.prepare(wasm.digest, wasm.componentPath);
    // The id is taken before any further await, so a concurrent duplicate launch is refused.
    if (this.containers.has(spec.containerId)) {
      throw new WasmosError('duplicate_container', `container ${spec.containerId} already exists`);
    }
    // The sandbox is new: its logs are made on first output.
    const stdout = new RotatingLog(
      spec.sandboxDir,
      'stdout',
      this.options.logBytesMax,
      this.options.logRotationsKept,
      true,
    );
    const stderr = new RotatingLog(
      spec.sandboxDir,
      'stderr',
      this.options.logBytesMax,
      this.options.logRotationsKept,
      true,
    );
    const abort = new AbortController();
    const startedMs = this.options.clock.nowMs();
    const run = this.options.executor.run(
      prepared,
      {
        programName: spec.taskId,
        args: wasm.args,
        env: wasm.env,
        preopens: wasm.preopens,
        netAllow: wasm.netAllow,
        ...(wasm.input === undefined ? {} : { handlerInput: wasm.input }),
        limits: {
          fuel: wasm.fuel,
          memoryBytesMax: wasm.memoryBytesMax,
          timeoutMs: wasm.timeoutMs,
          stdoutBytesMax: this.options.outputBytesMax,
          stderrBytesMax: this.options.outputBytesMax,
        },
      },
      {
        onStdout: (chunk) => stdout.write(chunk),
        onStderr: (chunk) => stderr.write(chunk),
        signal: abort.signal,
      },
    );
    const container: Container = {
      startedMs,
      abort,
      termination: undefined,
      ended: run
        .then(
          (result): Termination =>
            result.ok
              ? fromResult(result.value)
              : launchFailed(result.error.message, this.elapsedMs(startedMs)),
          (error: unknown): Termination => launchFailed(String(error), this.elapsedMs(startedMs)),
        )
        .then((termination) => {
          stdout.close();
          stderr.close();
          container.termination = termination;
          return termination;
        }),
    };
    this.containers.set(spec.containerId, container);
    // Nothing to keep: a wasm task does not survive a restart of the agent that runs it.
    return {};
  }

  private async prepare(digest: string, componentPath: string): Promise<PreparedModule> {
    const known = this.prepared.get(digest);
    if (known) return known;
    const bytes = new Uint8Array(await readFile(componentPath));
    const prepared = await this.options.executor.prepare(bytes);
    if (!prepared.ok) throw new WasmosError(prepared.error.code, prepared.error.message);
    this.prepared.set(digest, prepared.value);
    return prepared.value;
  }

  async wait(containerId: ContainerId): Promise<Termination> {
    const container = this.containers.get(containerId);
    if (!container) throw new WasmosError('unknown_container', `no wasm container ${containerId}`);
    return container.ended;
  }

  async kill(containerId: ContainerId, _gracePeriodMs: number): Promise<void> {
    const container = this.containers.get(containerId);
    if (!container) return;
    container.abort.abort();
    await container.ended;
  }

  async usage(containerId: ContainerId): Promise<ResourceUsage | undefined> {
    const container = this.containers.get(containerId);
    if (!container) return undefined;
    const ended = container.termination;
    // A running guest's memory and fuel are known only when it ends; time is all there is before.
    return {
      cpuTimeMs: ended?.durationMs ?? this.elapsedMs(container.startedMs),
      memoryBytes: ended?.peakMemoryBytes ?? 0,
      peakMemoryBytes: ended?.peakMemoryBytes ?? 0,
      ...(ended?.fuelConsumed === undefined ? {} : { fuelConsumed: ended.fuelConsumed }),
    };
  }

  async recover(checkpointed: readonly CheckpointedContainer[]): Promise<RecoveredContainers> {
    for (const container of checkpointed)
      assert(container.runtime === 'wasm', 'only wasm containers come here');
    return {
      running: [],
      terminated: checkpointed.map((container) => ({
        containerId: container.containerId,
        termination: {
          exitCode: null,
          reason: 'lost',
          message: 'agent restarted: wasm tasks run inside the agent and do not survive it',
          durationMs: 0,
        },
      })),
    };
  }

  /** Nothing to release: wasm tasks are killed by the agent first, and it owns the executor. */
  async close(): Promise<void> {}

  /** Forgets ended containers (the agent calls it once it has reported the end). */
  forget(containerId: ContainerId): void {
    const container = this.containers.get(containerId);
    if (container?.termination) this.containers.delete(containerId);
  }

  private elapsedMs(startedMs: number): number {
    return Math.max(0, this.options.clock.nowMs() - startedMs);
  }
}

/** Components whose prepared module is remembered by digest. */
const PREPARED_BY_DIGEST_MAX = 64;

const REASONS: Readonly<Record<TaskResult['reason'], TerminationReason>> = {
  exited: 'exited',
  trap: 'trap',
  fuel_exhausted: 'fuel_exhausted',
  memory_limit: 'memory_limit',
  timeout: 'timeout',
  stack_overflow: 'stack_overflow',
  killed: 'killed',
  invalid_wasm: 'launch_failed',
  missing_import: 'launch_failed',
  instantiation_failed: 'launch_failed',
};

function fromResult(result: TaskResult): Termination {
  return {
    exitCode: result.exitCode,
    reason: REASONS[result.reason],
    message: result.message,
    durationMs: result.durationMs,
    fuelConsumed: result.fuelConsumed,
    peakMemoryBytes: result.peakMemoryBytes,
    cpuTimeMs: result.durationMs,
  };
}

function launchFailed(message: string, durationMs: number): Termination {
  return { exitCode: null, reason: 'launch_failed', message, durationMs };
}
