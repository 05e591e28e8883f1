import { assert } from '../../lib/assert.js';
import type { Resource } from '../../protocol/messages/common.js';
import type { TaskInfo, TaskReason, TaskState } from '../../protocol/messages/task.js';
import type { ContainerResources, Runtime } from '../containerizer/containerizer.js';
import { streamKey } from './updates.js';

/** What the agent offers: totals it accounts task resources against. */
export interface AgentCapacity {
  readonly cpus: number;
  readonly memMiB: number;
  readonly diskMiB: number;
}

export interface ActiveTask {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly info: TaskInfo;
  readonly containerId: string;
  readonly runtime: Runtime;
  readonly resources: ContainerResources;
  /** The newest state the agent reported for it. */
  state: TaskState;
  killRequested: boolean;
  /** Its container ended and what it held is free again (the task may still await its report). */
  released: boolean;
}

export type LaunchDecision =
  | { readonly kind: 'accept'; readonly runtime: Runtime; readonly resources: ContainerResources }
  | {
      readonly kind: 'reject';
      readonly state: 'TASK_ERROR' | 'TASK_DROPPED';
      readonly reason: TaskReason;
      readonly message: string;
    };

/** Resources are compared in thousandths, as Mesos keeps three decimals (0.1 + 0.2 fits 0.3). */
const SCALE = 1000;
const fixed = (value: number): number => Math.round(value * SCALE);

export function scalarResource(resources: readonly Resource[], name: string): number {
  let total = 0;
  for (const resource of resources) {
    if (resource.name === name && resource.type === 'SCALAR') total += resource.scalar?.value ?? 0;
  }
  return total;
}

export function taskResources(info: TaskInfo): ContainerResources {
  return {
    cpus: scalarResource(info.resources, 'cpus'),
    memMiB: scalarResource(info.resources, 'mem'),
    diskMiB: scalarResource(info.resources, 'disk'),
  };
}

export function taskRuntime(info: TaskInfo): Runtime | undefined {
  if (info.wasm) return 'wasm';
  if (info.command) return 'linux';
  return undefined;
}

const reject = (
  state: 'TASK_ERROR' | 'TASK_DROPPED',
  reason: TaskReason,
  message: string,
): LaunchDecision => ({ kind: 'reject', state, reason, message });

/**
 * The agent's task table and resource accounting (pure). The master allocates, but the agent
 * checks again: a launch that would over-commit the agent, names a runtime it lacks, or repeats
 * an active task id is refused with a reason, and nothing changes.
 */
export class TaskTable {
  private readonly tasks = new Map<string, ActiveTask>();
  private cpusUsed = 0;
  private memUsed = 0;
  private diskUsed = 0;

  constructor(
    readonly capacity: AgentCapacity,
    readonly runtimes: ReadonlySet<Runtime>,
    readonly tasksMax: number,
  ) {
    assert(tasksMax > 0, 'an agent accepts at least one task');
  }

  decide(frameworkId: string, info: TaskInfo): LaunchDecision {
    const runtime = taskRuntime(info);
    if (!runtime)
      return reject('TASK_ERROR', 'REASON_TASK_INVALID', 'task has neither `wasm` nor `command`');
    if (!this.runtimes.has(runtime)) {
      return reject(
        'TASK_ERROR',
        'REASON_RUNTIME_UNAVAILABLE',
        `this agent does not run ${runtime} tasks`,
      );
    }
    if (this.tasks.has(streamKey(frameworkId, info.task_id.value))) {
      return reject(
        'TASK_ERROR',
        'REASON_TASK_INVALID',
        `task ${info.task_id.value} is already active here`,
      );
    }
    if (this.tasks.size >= this.tasksMax) {
      return reject(
        'TASK_DROPPED',
        'REASON_CONTAINER_LAUNCH_FAILED',
        `agent runs tasksMax (${this.tasksMax}) tasks`,
      );
    }
    const resources = taskResources(info);
    if (runtime === 'wasm' && resources.memMiB <= 0 && info.wasm?.memory_bytes === undefined) {
      return reject(
        'TASK_ERROR',
        'REASON_TASK_INVALID',
        'a wasm task needs a `mem` resource or `wasm.memory_bytes`',
      );
    }
    const short = this.shortfall(resources);
    if (short) return reject('TASK_DROPPED', 'REASON_INVALID_OFFERS', short);
    return { kind: 'accept', runtime, resources };
  }

  /** Adds an accepted task and accounts its resources. */
  add(task: Omit<ActiveTask, 'killRequested' | 'released'>): ActiveTask {
    const key = streamKey(task.frameworkId, task.taskId);
    assert(!this.tasks.has(key), 'a task is added once');
    assert(this.shortfall(task.resources) === undefined, 'an added task fits the agent');
    const active: ActiveTask = { ...task, killRequested: false, released: false };
    this.tasks.set(key, active);
    this.cpusUsed += fixed(task.resources.cpus);
    this.memUsed += fixed(task.resources.memMiB);
    this.diskUsed += fixed(task.resources.diskMiB);
    return active;
  }

  /**
   * Frees what an ended task's container held while the task stays known (its terminal update
   * is still being checkpointed and sent). The master frees the resources when that update
   * reaches it and may offer them at once: a launch on them must find them free here too.
   */
  release(frameworkId: string, taskId: string): void {
    const task = this.tasks.get(streamKey(frameworkId, taskId));
    if (!task || task.released) return;
    task.released = true;
    this.cpusUsed -= fixed(task.resources.cpus);
    this.memUsed -= fixed(task.resources.memMiB);
    this.diskUsed -= fixed(task.resources.diskMiB);
    assert(this.cpusUsed >= 0, 'cpus used never go negative');
    assert(this.memUsed >= 0, 'memory used never goes negative');
  }

  /** Removes a task that reached a terminal state, releasing its resources if not done yet. */
  remove(frameworkId: string, taskId: string): ActiveTask | undefined {
    const key = streamKey(frameworkId, taskId);
    const task = this.tasks.get(key);
    if (!task) return undefined;
    this.release(frameworkId, taskId);
    this.tasks.delete(key);
    return task;
  }

  get(frameworkId: string, taskId: string): ActiveTask | undefined {
    return this.tasks.get(streamKey(frameworkId, taskId));
  }

  byFramework(frameworkId: string): ActiveTask[] {
    return this.list().filter((task) => task.frameworkId === frameworkId);
  }

  list(): ActiveTask[] {
    return [...this.tasks.values()];
  }

  /** What running tasks hold now (the agent's own accounting). */
  used(): AgentCapacity {
    return {
      cpus: this.cpusUsed / SCALE,
      memMiB: this.memUsed / SCALE,
      diskMiB: this.diskUsed / SCALE,
    };
  }

  get size(): number {
    return this.tasks.size;
  }

  private shortfall(resources: ContainerResources): string | undefined {
    const checks: Array<[string, number, number, number]> = [
      ['cpus', this.cpusUsed, resources.cpus, this.capacity.cpus],
      ['mem', this.memUsed, resources.memMiB, this.capacity.memMiB],
      ['disk', this.diskUsed, resources.diskMiB, this.capacity.diskMiB],
    ];
    for (const [name, usedFixed, wanted, total] of checks) {
      if (wanted < 0) return `task asks for negative ${name}`;
      if (usedFixed + fixed(wanted) > fixed(total)) {
        return `not enough ${name} here: asks ${wanted}, ${(fixed(total) - usedFixed) / SCALE} of ${total} free`;
      }
    }
    return undefined;
  }
}
