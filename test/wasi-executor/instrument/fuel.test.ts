import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { I32, buildModule, op, sleb } from './wasm-builder.js';
import { OutOfFuel, exported, instantiate, instrumentOrFail } from './harness.js';
import type { InstrumentOptions } from '../../../wasi-executor/instrument/index.js';

const BIG = 1_000_000_000n;
/** Fuel passed in arguments (the default), and each strategy with the counter passed through the global. */
const STRATEGIES: InstrumentOptions[] = [
  { fuelPassing: 'arguments' },
  { fuelPassing: 'global', fuelStrategy: 'auto' },
  { fuelPassing: 'global', fuelStrategy: 'local' },
  { fuelPassing: 'global', fuelStrategy: 'global' },
];
const label = (options: InstrumentOptions): string =>
  options.fuelPassing === 'arguments' ? 'arguments' : `global passing, ${options.fuelStrategy}`;

/** count from 0 to `limit` in a loop: 7 charged instructions per iteration. */
const countingLoop = (limit: number): number[] => [
  op.loop,
  op.void,
  op.localGet,
  0,
  op.i32Const,
  1,
  op.i32Add,
  op.localTee,
  0,
  op.i32Const,
  ...sleb(limit),
  op.i32LtS,
  op.brIf,
  0,
  op.end,
];

/** Recursive fib: entry 4, then-arm 1, else-arm 9 (two calls). */
const fibBody = [
  op.localGet,
  0,
  op.i32Const,
  2,
  op.i32LtS,
  op.if,
  I32,
  op.localGet,
  0,
  op.else,
  op.localGet,
  0,
  op.i32Const,
  1,
  op.i32Sub,
  op.call,
  0,
  op.localGet,
  0,
  op.i32Const,
  2,
  op.i32Sub,
  op.call,
  0,
  op.i32Add,
  op.end,
];
const fibFuel = (n: number): bigint => 4n + (n < 2 ? 1n : 9n + fibFuel(n - 1) + fibFuel(n - 2));

for (const strategy of STRATEGIES) {
  test(`[${label(strategy)}] straight-line code costs one per instruction, drop and end free`, () => {
    const bytes = buildModule({
      functions: [
        { body: [op.i32Const, 1, op.i32Const, 2, op.i32Add, op.drop], exportName: 'run' },
      ],
    });
    const run = instantiate(instrumentOrFail(bytes, strategy), BIG);
    exported<() => void>(run.instance, 'run')();
    assert.is(run.consumed(), 3n);
  });

  test(`[${label(strategy)}] a loop is charged on every iteration`, () => {
    const bytes = buildModule({
      functions: [{ locals: [I32], body: countingLoop(10), exportName: 'run' }],
    });
    const run = instantiate(instrumentOrFail(bytes, strategy), BIG);
    exported<() => void>(run.instance, 'run')();
    assert.is(run.consumed(), 70n);
  });

  test(`[${label(strategy)}] calls add the callee's cost to the caller's`, () => {
    const callee = { body: [op.i32Const, 7, op.drop, op.i32Const, 8, op.drop] }; // 2
    const caller = { body: [op.call, 1, op.call, 1, op.i32Const, 0, op.drop], exportName: 'run' }; // 3
    const bytes = buildModule({ functions: [caller, callee] });
    const run = instantiate(instrumentOrFail(bytes, strategy), BIG);
    exported<() => void>(run.instance, 'run')();
    assert.is(run.consumed(), 3n + 2n * 2n);
  });

  test(`[${label(strategy)}] a taken br_if is not charged for the code it skips`, () => {
    const body = [
      op.block,
      op.void,
      op.localGet,
      0,
      op.brIf,
      0,
      op.i32Const,
      5,
      op.drop,
      op.i32Const,
      6,
      op.drop,
      op.end,
    ];
    const bytes = buildModule({ functions: [{ params: [I32], body, exportName: 'run' }] });
    const metered = instrumentOrFail(bytes, strategy);
    const taken = instantiate(metered, BIG);
    exported<(flag: number) => void>(taken.instance, 'run')(1);
    assert.is(taken.consumed(), 2n);
    const fallthrough = instantiate(metered, BIG);
    exported<(flag: number) => void>(fallthrough.instance, 'run')(0);
    assert.is(fallthrough.consumed(), 4n);
  });

  test(`[${label(strategy)}] recursion is charged per call`, () => {
    const bytes = buildModule({
      functions: [{ params: [I32], results: [I32], body: fibBody, exportName: 'fib' }],
    });
    const run = instantiate(instrumentOrFail(bytes, strategy), BIG);
    assert.is(exported<(n: number) => number>(run.instance, 'fib')(15), 610);
    assert.is(run.consumed(), fibFuel(15));
  });

  test(`[${label(strategy)}] an infinite loop ends in out_of_fuel with the global at zero`, () => {
    const bytes = buildModule({
      functions: [{ body: [op.loop, op.void, op.br, 0, op.end], exportName: 'spin' }],
    });
    const run = instantiate(instrumentOrFail(bytes, strategy), 1000n);
    assert.throws(
      () => exported<() => void>(run.instance, 'spin')(),
      (error: unknown) => error instanceof OutOfFuel,
    );
    assert.ok((run.fuel.value as bigint) <= 0n);
    assert.is(run.consumed(), 1000n);
  });

  test(`[${label(strategy)}] recursion through a call inside a loop runs out of fuel at the loop header`, () => {
    // Every call is in a loop, so the entry has no check: the header's check stops it.
    const bytes = buildModule({
      functions: [{ body: [op.loop, op.void, op.call, 0, op.end], exportName: 'recurse' }],
    });
    const run = instantiate(instrumentOrFail(bytes, strategy), 500n);
    assert.throws(
      () => exported<() => void>(run.instance, 'recurse')(),
      (error: unknown) => error instanceof OutOfFuel,
    );
    assert.is(run.fuel.value, 0n);
  });

  test(`[${label(strategy)}] deep recursion without loops still runs out of fuel`, () => {
    const bytes = buildModule({ functions: [{ body: [op.call, 0], exportName: 'recurse' }] });
    const run = instantiate(instrumentOrFail(bytes, strategy), 500n);
    assert.throws(
      () => exported<() => void>(run.instance, 'recurse')(),
      (error: unknown) => error instanceof OutOfFuel,
    );
    assert.is(run.fuel.value, 0n);
  });
}

/**
 * A host that hands the budget out in slices, as the executor does: out_of_fuel
 * finds the negative counter in the global and refills it, or throws at the end.
 */
function slicedHost(budget: bigint, slice: bigint) {
  const first = budget < slice ? budget : slice;
  let reserve = budget - first;
  let refills = 0;
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, first);
  const outOfFuel = (): void => {
    const available = reserve + (fuel.value as bigint);
    if (available < 0n) {
      reserve = 0n;
      fuel.value = 0n;
      throw new OutOfFuel('fuel exhausted');
    }
    const grant = available < slice ? available : slice;
    reserve = available - grant;
    fuel.value = grant;
    refills++;
  };
  return {
    wasmos: { fuel, out_of_fuel: outOfFuel },
    consumed: () => budget - reserve - (fuel.value as bigint),
    refills: () => refills,
  };
}

for (const strategy of STRATEGIES) {
  test(`[${label(strategy)}] fuel handed out in slices: same count, same exhaustion point`, () => {
    const loop = instrumentOrFail(
      buildModule({ functions: [{ locals: [I32], body: countingLoop(100), exportName: 'run' }] }),
      strategy,
    );
    const sliced = slicedHost(BIG, 50n);
    exported<() => void>(instantiate(loop, BIG, { wasmos: sliced.wasmos }).instance, 'run')();
    assert.is(sliced.consumed(), 700n);
    assert.ok(sliced.refills() >= 10, `refilled ${sliced.refills()} times`);
    const exact = slicedHost(700n, 50n);
    exported<() => void>(instantiate(loop, BIG, { wasmos: exact.wasmos }).instance, 'run')();
    assert.is(exact.consumed(), 700n);
    const short = slicedHost(699n, 50n);
    assert.throws(
      () =>
        exported<() => void>(instantiate(loop, BIG, { wasmos: short.wasmos }).instance, 'run')(),
      (error: unknown) => error instanceof OutOfFuel,
    );
    assert.is(short.consumed(), 699n);

    const fib = instrumentOrFail(
      buildModule({
        functions: [{ params: [I32], results: [I32], body: fibBody, exportName: 'fib' }],
      }),
      strategy,
    );
    const recursive = slicedHost(BIG, 64n);
    const instance = instantiate(fib, BIG, { wasmos: recursive.wasmos }).instance;
    assert.is(exported<(n: number) => number>(instance, 'fib')(15), 610);
    assert.is(recursive.consumed(), fibFuel(15));
    assert.ok(recursive.refills() > 0);
  });
}

const I32_EQZ = 0x45;
const I32_GT_S = 0x4a;

/** Nested loops (the inner one with a result) left by a branch that crosses both. */
const nestedExitBody = [
  op.block, I32,
  op.loop, op.void,
  op.i32Const, 0, op.localSet, 3,
  op.loop, I32,
  op.localGet, 1, op.i32Const, 1, op.i32Add, op.localTee, 1,
  op.localGet, 1, op.localGet, 0, op.i32LtS, I32_EQZ,
  op.brIf, 2,
  op.drop,
  op.localGet, 3, op.i32Const, 1, op.i32Add, op.localTee, 3, op.i32Const, 5, op.i32LtS,
  op.brIf, 0,
  op.localGet, 1,
  op.end,
  op.drop,
  op.br, 0,
  op.end,
  op.unreachable,
  op.end,
]; // prettier-ignore

/** A loop with a parameter (its type is the function's, index 0): counts n down to 0. */
const loopWithParamBody = [
  op.localGet, 0,
  op.loop, 0,
  op.i32Const, 1, op.i32Sub, op.localTee, 1,
  op.localGet, 1, op.i32Const, 0, I32_GT_S,
  op.brIf, 0,
  op.end,
]; // prettier-ignore

for (const strategy of STRATEGIES) {
  test(`[${label(strategy)}] branches out of nested loops and loops with parameters: same result and count in slices`, () => {
    const cases = [
      { body: nestedExitBody, locals: [I32, I32, I32], n: 137, expected: 137 },
      { body: loopWithParamBody, locals: [I32], n: 300, expected: 0 },
    ];
    for (const { body, locals, n, expected } of cases) {
      const metered = instrumentOrFail(
        buildModule({
          functions: [{ params: [I32], results: [I32], locals, body, exportName: 'run' }],
        }),
        strategy,
      );
      const whole = instantiate(metered, BIG);
      assert.is(exported<(n: number) => number>(whole.instance, 'run')(n), expected);
      for (const slice of [1n, 7n, 64n]) {
        const sliced = slicedHost(BIG, slice);
        const instance = instantiate(metered, BIG, { wasmos: sliced.wasmos }).instance;
        assert.is(exported<(n: number) => number>(instance, 'run')(n), expected);
        assert.is(sliced.consumed(), whole.consumed(), `slice ${slice}`);
      }
      const short = slicedHost(whole.consumed() - 1n, 5n);
      const instance = instantiate(metered, BIG, { wasmos: short.wasmos }).instance;
      assert.throws(
        () => exported<(n: number) => number>(instance, 'run')(n),
        (error: unknown) => error instanceof OutOfFuel,
      );
    }
  });
}

test('one compiled module serves any budget', () => {
  const bytes = buildModule({
    functions: [{ locals: [I32], body: countingLoop(100), exportName: 'run' }],
  });
  const metered = instrumentOrFail(bytes);
  const generous = instantiate(metered, 10_000n);
  exported<() => void>(generous.instance, 'run')();
  assert.is(generous.consumed(), 700n);
  const tight = instantiate(metered, 699n);
  assert.throws(
    () => exported<() => void>(tight.instance, 'run')(),
    (error: unknown) => error instanceof OutOfFuel,
  );
  const exact = instantiate(metered, 700n);
  exported<() => void>(exact.instance, 'run')();
  assert.is(exact.fuel.value, 0n);
});

test('an explicit unreachable trap reports the fuel spent before it', () => {
  const body = [
    op.loop,
    op.void,
    op.i32Const,
    1,
    op.drop,
    op.end,
    op.i32Const,
    2,
    op.drop,
    op.unreachable,
  ];
  const bytes = buildModule({ functions: [{ body, exportName: 'trap' }] });
  const run = instantiate(instrumentOrFail(bytes), BIG);
  assert.throws(
    () => exported<() => void>(run.instance, 'trap')(),
    (error: unknown) => error instanceof WebAssembly.RuntimeError,
  );
  assert.is(run.consumed(), 2n);
});

test('fuel spent in a host import callee is shared through the global', () => {
  const bytes = buildModule({
    imports: [{ module: 'env', name: 'host' }],
    functions: [
      { body: [op.i32Const, 1, op.drop, op.call, 0, op.i32Const, 2, op.drop], exportName: 'run' },
    ],
  });
  const metered = instrumentOrFail(bytes);
  let seenByHost = -1n;
  const fuel = { global: undefined as WebAssembly.Global | undefined };
  const run = instantiate(metered, 100n, {
    imports: { env: { host: () => (seenByHost = fuel.global!.value as bigint) } },
  });
  fuel.global = run.fuel;
  exported<() => void>(run.instance, 'run')();
  assert.is(seenByHost, 100n - 3n, 'the region is charged before the call and written back');
  assert.is(run.consumed(), 3n);
});

test('functions returning several values keep their results', () => {
  const body = [op.loop, op.void, op.end, op.i32Const, 4, op.i32Const, 5, op.return];
  const bytes = buildModule({ functions: [{ results: [I32, I32], body, exportName: 'pair' }] });
  const run = instantiate(instrumentOrFail(bytes), BIG);
  assert.equal(exported<() => number[]>(run.instance, 'pair')(), [4, 5]);
  assert.is(run.consumed(), 2n);
});

test('a branch to the function label writes the fuel back', () => {
  const body = [
    op.loop,
    op.void,
    op.end,
    op.i32Const,
    9,
    op.localGet,
    0,
    op.brIf,
    0,
    op.drop,
    op.i32Const,
    3,
  ];
  const bytes = buildModule({
    functions: [{ params: [I32], results: [I32], body, exportName: 'run' }],
  });
  const run = instantiate(instrumentOrFail(bytes), BIG);
  assert.is(exported<(flag: number) => number>(run.instance, 'run')(1), 9);
  assert.is(run.consumed(), 3n);
});

test('an exception caught in the caller keeps the callee fuel', () => {
  const thrower = { body: [op.i32Const, 1, op.i32Const, 2, op.drop, op.throw, 0] }; // 3
  const body = [op.try, I32, op.call, 1, op.i32Const, 0, op.catch, 0, op.end];
  const bytes = buildModule({
    tags: 1,
    functions: [{ results: [I32], body, exportName: 'run' }, thrower],
  });
  const run = instantiate(instrumentOrFail(bytes), BIG);
  assert.is(exported<() => number>(run.instance, 'run')(), 1);
  // caller: call 1 + i32.const 1 (charged up front), callee: 3 before throw
  assert.is(run.consumed(), 2n + 3n);
});

test.run();
