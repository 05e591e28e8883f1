/**
 * One allocation run of the pure allocator at Mesos's benchmark scale: every agent free, every
 * framework hungry (the worst case: each agent is offered). Prints the time of each run and
 * the median; the snapshot build is not timed (the master builds it incrementally).
 *
 *   npx tsc -p . && node dist/bench/allocator/allocator.bench.js [--runs 7]
 */
import { parseArgs } from 'node:util';
import {
  allocate,
  defaultMinAllocatable,
  type AllocationSnapshot,
  type AllocatorFramework,
} from '../../master/core/allocator.js';
import { Resources } from '../../master/core/resources.js';
import { drfSorter } from '../../master/core/sorter/drf.js';

function snapshot(
  agentCount: number,
  frameworkCount: number,
  roleCount: number,
): AllocationSnapshot {
  const agentTotal = Resources.of({
    cpus: 16,
    mem: 65_536,
    disk: 1_000_000,
    ports: [[31000, 32000]],
  });
  const agents = Array.from({ length: agentCount }, (_, index) => ({
    id: `agent-${index}`,
    available: agentTotal,
  }));
  const frameworks: AllocatorFramework[] = Array.from({ length: frameworkCount }, (_, index) => ({
    id: `framework-${index}`,
    role: `role-${index % roleCount}`,
    allocation: Resources.empty,
    active: true,
    suppressed: false,
    offersOutstanding: 0,
    filters: new Map(),
  }));
  const totalOne = agentTotal.scalars();
  let total = Resources.empty;
  for (let index = 0; index < agentCount; index++) total = total.add(totalOne);
  return {
    agents,
    frameworks,
    weights: new Map(),
    total,
    nowMs: 0,
    seed: 1,
    offersOutstandingPerFrameworkMax: 1000,
    minAllocatable: defaultMinAllocatable,
  };
}

function measure(
  agentCount: number,
  frameworkCount: number,
  roleCount: number,
  runs: number,
): void {
  const input = snapshot(agentCount, frameworkCount, roleCount);
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let offers = 0;
  for (let run = 0; run < runs; run++) {
    // CPU time as well as wall time: on a shared machine the wall clock includes other work.
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const plan = allocate({ ...input, seed: run + 1 }, drfSorter);
    wallMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    const cpu = process.cpuUsage(cpuBefore);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    offers = plan.offers.length;
  }
  console.log(
    `${agentCount} agents × ${frameworkCount} frameworks (${roleCount} roles), ${offers} offers/run: ` +
      `wall ${summary(wallMs)}; cpu ${summary(cpuMs)}`,
  );
}

function summary(timesMs: readonly number[]): string {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `median ${median.toFixed(1)} ms (min ${sorted[0]!.toFixed(1)}, max ${sorted[sorted.length - 1]!.toFixed(1)})`;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '11' } } });
const runs = Math.max(1, Number(values.runs));
measure(1000, 100, 1, runs);
measure(1000, 100, 10, runs);
measure(10_000, 1000, 1, runs);
measure(10_000, 1000, 20, runs);
