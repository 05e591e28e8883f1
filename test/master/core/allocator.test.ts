import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { dominantShare, Resources } from '../../../master/core/resources.js';
import { randomSorter } from '../../../master/core/sorter/random.js';
import { AllocatorHarness } from './allocator-harness.js';

const node = Resources.of({ cpus: 4, mem: 4096, ports: [[31000, 31099]] });

test('offers a fresh agent to the only hungry framework', () => {
  const h = new AllocatorHarness();
  h.addAgent('a1', node);
  h.addFramework('f1');
  const plan = h.runCycle();
  assert.is(h.plans.length, 1);
  assert.equal(
    plan.offers.map((offer) => [offer.frameworkId, offer.agentId]),
    [['f1', 'a1']],
  );
  assert.ok(plan.offers[0]!.resources.equals(node));
});

test('an agent is offered once per run and not again while its offer is outstanding', () => {
  const h = new AllocatorHarness();
  h.addAgent('a1', node);
  h.addFramework('f1');
  h.addFramework('f2');
  assert.is(h.runCycle().offers.length, 1);
  assert.is(h.runCycle().offers.length, 0);
  assert.is(h.plans[1]!.skipped.below_minimum, 1);
});

test('does not re-offer a declined agent until the filter expires', () => {
  const h = new AllocatorHarness();
  h.addAgent('a1', node);
  h.addFramework('f1');
  h.answer(h.runCycle().offers[0]!, undefined, 5000);
  h.nowMs = 4999;
  const during = h.runCycle();
  assert.is(during.offers.length, 0);
  assert.is(during.skipped.filtered, 1);
  h.nowMs = 5000;
  assert.is(h.runCycle().offers.length, 1);
});

test('a filter does not block resources it did not cover', () => {
  const h = new AllocatorHarness();
  h.addAgent('a1', node);
  h.addFramework('f1');
  const first = h.runCycle().offers[0]!;
  h.answer(first, Resources.of({ cpus: 1, mem: 1024 }), 60_000);
  // The task ends: more is free than was refused, so the agent is offered again.
  const f1 = h.frameworks.get('f1')!;
  const agent = h.agents.get('a1')!;
  agent.used = Resources.empty;
  f1.used = Resources.empty;
  assert.is(h.runCycle().offers.length, 1);
});

test('a suppressed or disconnected framework gets nothing; others still do', () => {
  const h = new AllocatorHarness();
  h.addAgent('a1', node);
  h.addAgent('a2', node);
  h.addFramework('quiet').suppressed = true;
  h.addFramework('gone').active = false;
  h.addFramework('busy');
  const plan = h.runCycle();
  assert.equal(new Set(plan.offers.map((offer) => offer.frameworkId)), new Set(['busy']));
  assert.is(plan.skipped.suppressed, 1);
  assert.is(plan.skipped.inactive, 1);
});

test('a framework at its outstanding-offer bound is skipped', () => {
  const h = new AllocatorHarness(1, 2);
  for (let index = 0; index < 5; index++) h.addAgent(`a${index}`, node);
  h.addFramework('f1');
  const plan = h.runCycle();
  assert.is(plan.offers.length, 2);
  assert.is(plan.skipped.offer_limit, 1);
  assert.is(plan.skipped.no_framework, 3);
});

test('the role with the smaller weighted share goes first', () => {
  const h = new AllocatorHarness();
  h.addAgent('a1', Resources.of({ cpus: 5 }));
  h.addFramework('low', 'batch').used = Resources.of({ cpus: 2 });
  h.addFramework('high', 'service').used = Resources.of({ cpus: 3 });
  h.agents.get('a1')!.used = Resources.of({ cpus: 5 });
  h.addAgent('a2', Resources.of({ cpus: 9, mem: 1000 }));
  h.weights.set('service', 3);
  // service: 3/14 ÷ 3 ≈ 0.07 beats batch: 2/14 ≈ 0.14, so service is offered first.
  const plan = h.runCycle();
  assert.is(plan.offers[0]!.frameworkId, 'high');
});

test('the same snapshot and seed give the same plan', () => {
  const plans = [1, 2].map(() => {
    const h = new AllocatorHarness(42);
    for (let index = 0; index < 20; index++) h.addAgent(`a${index}`, node);
    for (let index = 0; index < 5; index++) h.addFramework(`f${index}`);
    return h.runCycle().offers.map((offer) => `${offer.frameworkId}@${offer.agentId}`);
  });
  assert.equal(plans[0], plans[1]);
});

test('the random sorter allocates without over-allocating', () => {
  const h = new AllocatorHarness(5);
  for (let index = 0; index < 10; index++) h.addAgent(`a${index}`, node);
  for (let index = 0; index < 3; index++) h.addFramework(`f${index}`);
  assert.is(h.runCycle(randomSorter).offers.length, 10);
  h.checkNoOverAllocation();
});

// ---- properties -------------------------------------------------------------------------

const agentTotal = fc
  .record({
    cpusTenths: fc.integer({ min: 1, max: 80 }),
    memMb: fc.integer({ min: 32, max: 8192 }),
  })
  .map(({ cpusTenths, memMb }) => Resources.of({ cpus: cpusTenths / 10, mem: memMb }));

type Step =
  | { kind: 'allocate' }
  | { kind: 'answer'; pick: number; launch: boolean; refuseMs: number }
  | { kind: 'finish'; pick: number }
  | { kind: 'toggle'; pick: number; what: 'suppressed' | 'active' }
  | { kind: 'advance'; deltaMs: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: 'allocate' as const }),
  fc.record({
    kind: fc.constant('answer' as const),
    pick: fc.nat(),
    launch: fc.boolean(),
    refuseMs: fc.constantFrom(0, 1000, 5000),
  }),
  fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('toggle' as const),
    pick: fc.nat(),
    what: fc.constantFrom('suppressed' as const, 'active' as const),
  }),
  fc.record({ kind: fc.constant('advance' as const), deltaMs: fc.integer({ min: 1, max: 3000 }) }),
);

test('property: never over-allocates an agent, whatever the order of events', () => {
  fc.assert(
    fc.property(
      fc.array(agentTotal, { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(step, { maxLength: 60 }),
      fc.integer(),
      (totals, frameworkCount, steps, seed) => {
        const h = new AllocatorHarness(seed, 3);
        totals.forEach((total, index) => h.addAgent(`a${index}`, total));
        const frameworks = Array.from({ length: frameworkCount }, (_, index) =>
          h.addFramework(`f${index}`, index % 2 === 0 ? 'even' : 'odd'),
        );
        const task = Resources.of({ cpus: 0.3, mem: 100 });
        for (const event of steps) {
          applyStep(h, frameworks, event, task);
          h.checkNoOverAllocation();
        }
      },
    ),
    { numRuns: 200 },
  );
});

function applyStep(
  h: AllocatorHarness,
  frameworks: ReturnType<AllocatorHarness['addFramework']>[],
  event: Step,
  task: Resources,
): void {
  if (event.kind === 'allocate') {
    h.runCycle();
  } else if (event.kind === 'answer') {
    const offers = h.outstanding();
    const offer = offers[event.pick % Math.max(offers.length, 1)];
    if (offer) h.answer(offer, event.launch ? task : undefined, event.refuseMs);
  } else if (event.kind === 'finish') {
    const framework = frameworks[event.pick % frameworks.length]!;
    const agent = [...h.agents.values()].find((candidate) => candidate.used.contains(task));
    if (agent && framework.used.contains(task)) {
      agent.used = agent.used.subtract(task);
      framework.used = framework.used.subtract(task);
    }
  } else if (event.kind === 'toggle') {
    const framework = frameworks[event.pick % frameworks.length]!;
    framework[event.what] = !framework[event.what];
  } else {
    h.nowMs += event.deltaMs;
  }
}

/**
 * Frameworks answer offers one at a time, oldest first, as they arrive in a live cluster: launch
 * one task if it fits and return the rest (an offer too small is declined with a long filter,
 * as real frameworks do). Returned resources trigger an allocation at once, as in the master.
 */
function fillCluster(h: AllocatorHarness, task: Resources): void {
  for (let answers = 0; answers < 100_000; answers++) {
    const oldest = h.outstanding().sort((a, b) => h.offerOrder(a) - h.offerOrder(b))[0];
    if (!oldest) return;
    const useful = oldest.resources.contains(task);
    h.answer(oldest, useful ? task : undefined, useful ? 0 : 3_600_000);
    h.runCycle();
  }
  throw new Error('cluster did not fill within the answer bound');
}

// Agents are whole multiples of the task, so a leftover always fits one more task: fairness is
// about order, and fragmentation (a useless remainder still counting towards a share) is not.
const taskMultiple = fc
  .integer({ min: 1, max: 24 })
  .map((count) => Resources.of({ cpus: count / 10, mem: count * 32 }));

test('property: DRF with equal demand keeps shares within one task of each other', () => {
  fc.assert(
    fc.property(
      fc.array(taskMultiple, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 2, max: 5 }),
      fc.integer(),
      (totals, frameworkCount, seed) => {
        const h = new AllocatorHarness(seed);
        totals.forEach((total, index) => h.addAgent(`a${index}`, total));
        for (let index = 0; index < frameworkCount; index++) h.addFramework(`f${index}`);
        const task = Resources.of({ cpus: 0.1, mem: 32 });
        h.runCycle();
        fillCluster(h, task);
        const total = totals.reduce((sum, each) => sum.add(each.scalars()), Resources.empty);
        const shares = [...h.frameworks.values()].map((f) => dominantShare(f.used, total));
        const slack = dominantShare(task, total) + 1e-9;
        return Math.max(...shares) - Math.min(...shares) <= slack;
      },
    ),
    { numRuns: 60 },
  );
});

test('property: role weights are respected (weighted shares within one task)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 2, max: 12 }),
      fc.integer(),
      (weight, agentCount, seed) => {
        const h = new AllocatorHarness(seed);
        for (let index = 0; index < agentCount; index++) {
          h.addAgent(`a${index}`, Resources.of({ cpus: 2, mem: 2048 }));
        }
        h.addFramework('heavy', 'heavy');
        h.addFramework('light', 'light');
        h.weights.set('heavy', weight);
        const task = Resources.of({ cpus: 0.1, mem: 64 });
        h.runCycle();
        fillCluster(h, task);
        const total = Resources.of({ cpus: 2 * agentCount, mem: 2048 * agentCount });
        const heavy = dominantShare(h.frameworks.get('heavy')!.used, total) / weight;
        const light = dominantShare(h.frameworks.get('light')!.used, total);
        return Math.abs(heavy - light) <= dominantShare(task, total) + 1e-9;
      },
    ),
    { numRuns: 60 },
  );
});

test('property: no offer breaks an unexpired filter or goes to a suppressed framework', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), fc.integer(), (steps, seed) => {
      const h = new AllocatorHarness(seed, 4);
      for (let index = 0; index < 4; index++) h.addAgent(`a${index}`, node);
      const frameworks = [h.addFramework('f0'), h.addFramework('f1'), h.addFramework('f2')];
      const task = Resources.of({ cpus: 1, mem: 512 });
      for (const event of steps) {
        if (event.kind !== 'allocate') {
          applyStep(h, frameworks, event, task);
          continue;
        }
        const before = new Map(
          frameworks.map((f) => [
            f.id,
            { suppressed: f.suppressed, active: f.active, filters: new Map(f.filters) },
          ]),
        );
        const availableBefore = new Map(
          [...h.agents.values()].map((a) => [a.id, a.total.subtract(a.offered).subtract(a.used)]),
        );
        for (const offer of h.runCycle().offers) {
          const state = before.get(offer.frameworkId)!;
          if (state.suppressed || !state.active) return false;
          const filter = state.filters.get(offer.agentId);
          const blocked =
            filter &&
            filter.expiresAtMs > h.nowMs &&
            filter.resources.contains(availableBefore.get(offer.agentId)!);
          if (blocked) return false;
        }
      }
      return true;
    }),
    { numRuns: 200 },
  );
});

test.run();
