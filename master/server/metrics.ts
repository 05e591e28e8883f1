import { Hono } from 'hono';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LruMap } from '../../lib/lru.js';
import type { CoreState } from '../core/state.js';
import { isTerminal, taskKey, taskStates, type TaskRecord } from '../core/tasks.js';
import type { MasterContext } from './context.js';

/**
 * GET /metrics: Prometheus text, names after Mesos's master metrics (`master/slaves_active` →
 * `wasmos_master_agents_active`). Everything is read from the core's view at scrape time, so
 * nothing here is on the hot path. Fuel is counted from the terminal tasks the master still
 * holds when scraped (each counted once: a bounded set of counted tasks), so a framework that
 * ends more than `completedTasksPerFrameworkMax` tasks between two scrapes is under-counted.
 */

export interface MetricsLimits {
  /** Tasks remembered as already counted towards fuel (least recently seen forgotten first). */
  readonly countedTasksMax: number;
}

export const DEFAULT_METRICS_LIMITS: MetricsLimits = { countedTasksMax: 200_000 };

export function masterMetrics(
  ctx: MasterContext,
  limits: MetricsLimits = DEFAULT_METRICS_LIMITS,
): Registry {
  const registry = new Registry();
  const view = (): Readonly<CoreState> => ctx.driver.view();
  gauge(registry, 'wasmos_master_elected', 'Whether this master leads (1) or not (0).', [], (set) =>
    set({}, ctx.driver.isRunning ? 1 : 0),
  );
  gauge(registry, 'wasmos_master_agents_active', 'Agents registered and connected.', [], (set) =>
    set(
      {},
      countWhere(view().agents.values(), (agent) => agent.status === 'active'),
    ),
  );
  gauge(registry, 'wasmos_master_agents', 'Agents by status.', ['status'], (set) => {
    const counts = new Map<string, number>();
    for (const status of ['active', 'disconnected', 'recovering', 'unreachable', 'gone'])
      counts.set(status, 0);
    for (const agent of view().agents.values())
      counts.set(agent.status, (counts.get(agent.status) ?? 0) + 1);
    for (const [status, count] of counts) set({ status }, count);
  });
  gauge(registry, 'wasmos_master_frameworks_active', 'Frameworks connected.', [], (set) =>
    set(
      {},
      countWhere(view().frameworks.values(), (framework) => framework.streamId !== undefined),
    ),
  );
  gauge(
    registry,
    'wasmos_master_frameworks_disconnected',
    'Frameworks within their failover timeout.',
    [],
    (set) =>
      set(
        {},
        countWhere(view().frameworks.values(), (framework) => framework.streamId === undefined),
      ),
  );
  gauge(registry, 'wasmos_master_tasks', 'Tasks the master holds, by state.', ['state'], (set) => {
    const counts = new Map<string, number>(taskStates.map((state) => [state, 0]));
    for (const task of heldTasks(view())) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
    for (const [state, count] of counts) set({ state }, count);
  });
  gauge(registry, 'wasmos_master_outstanding_offers', 'Offers not yet answered.', [], (set) =>
    set({}, view().offers.size),
  );
  gauge(
    registry,
    'wasmos_master_resources',
    'Resources of active agents: total, used, offered.',
    ['resource', 'kind'],
    (set) => setResources(view(), set),
  );
  registerAllocationMetrics(registry, ctx);
  registerFuelCounter(registry, view, limits);
  return registry;
}

type SetGauge = (labels: Record<string, string>, value: number) => void;

function gauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: SetGauge) => void,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.set(labels, value));
    },
  });
}

function countWhere<T>(items: Iterable<T>, test: (item: T) => boolean): number {
  let count = 0;
  for (const item of items) if (test(item)) count++;
  return count;
}

function* heldTasks(core: Readonly<CoreState>): Generator<TaskRecord> {
  for (const framework of core.frameworks.values()) {
    yield* framework.tasks.values();
    yield* framework.completed;
  }
}

function setResources(core: Readonly<CoreState>, set: SetGauge): void {
  const sums = new Map<string, number>();
  const add = (resource: string, kind: string, value: number) => {
    const key = `${resource}\u0000${kind}`;
    sums.set(key, (sums.get(key) ?? 0) + value);
  };
  for (const agent of core.agents.values()) {
    if (agent.status !== 'active') continue;
    for (const [kind, resources] of [
      ['total', agent.total],
      ['used', agent.used],
      ['offered', agent.offered],
    ] as const) {
      for (const [name, milli] of resources.scalarEntries()) add(name, kind, milli / 1000);
    }
  }
  for (const [key, value] of sums) {
    const [resource, kind] = key.split('\u0000') as [string, string];
    set({ resource, kind }, value);
  }
}

function registerAllocationMetrics(registry: Registry, ctx: MasterContext): void {
  gauge(
    registry,
    'wasmos_master_allocation_run_ms_last',
    'Wall time of the last allocation run, in milliseconds.',
    [],
    (set) => set({}, ctx.driver.allocationTiming.lastMs),
  );
  gauge(
    registry,
    'wasmos_master_allocation_run_seconds_sum',
    'Wall time of all allocation runs since this term started, in seconds.',
    [],
    (set) => set({}, ctx.driver.allocationTiming.totalMs / 1000),
  );
  gauge(
    registry,
    'wasmos_master_allocation_runs',
    'Allocation runs since this term started.',
    [],
    (set) => set({}, ctx.driver.view().allocation.runs),
  );
  gauge(
    registry,
    'wasmos_master_allocation_last_offers',
    'Offers made by the last allocation run.',
    [],
    (set) => set({}, ctx.driver.lastPlan?.offers.length ?? 0),
  );
  gauge(
    registry,
    'wasmos_master_allocation_last_agents_considered',
    'Agents the last allocation run looked at.',
    [],
    (set) => set({}, ctx.driver.lastPlan?.agentsConsidered ?? 0),
  );
}

function registerFuelCounter(
  registry: Registry,
  view: () => Readonly<CoreState>,
  limits: MetricsLimits,
): void {
  const counted = new LruMap<string, true>(limits.countedTasksMax);
  new Counter({
    name: 'wasmos_master_fuel_consumed_total',
    help: 'Fuel (wasm instructions budget units) consumed by ended tasks, per framework.',
    labelNames: ['framework_id', 'framework_name'],
    registers: [registry],
    collect() {
      for (const framework of view().frameworks.values()) {
        const labels = { framework_id: framework.id, framework_name: framework.name };
        // Present with 0 from the start, so rate() works from the first task.
        this.inc(labels, 0);
        for (const task of [...framework.tasks.values(), ...framework.completed]) {
          const fuel = task.status.fuelConsumed;
          if (!isTerminal(task.state) || fuel === undefined) continue;
          const key = taskKey(framework.id, task.id);
          if (counted.has(key)) continue;
          counted.set(key, true);
          this.inc(labels, fuel);
        }
      }
    },
  });
}

let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop lag): one collector per process, not per term, since
 * prom-client's event-loop monitor is never released.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'wasmos_master_' });
  }
  return processRegistry;
}

/** GET /metrics. */
export function metricsRoutes(ctx: MasterContext): Hono {
  const registry = masterMetrics(ctx);
  const process = processMetrics();
  const routes = new Hono();
  routes.get('/', async (c) => {
    const text = `${await registry.metrics()}\n${await process.metrics()}`;
    return c.body(text, 200, { 'content-type': registry.contentType });
  });
  return routes;
}
