/**
 * Fuel passed in arguments between defined functions (docs/FUEL.md, "Passing
 * the counter in calls"), and regions charged ahead of a block they follow.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FuelPassing } from '../../../wasi-executor/instrument/index.js';
import { I32, I64, buildModule, op } from './wasm-builder.js';
import { OutOfFuel, exported, instantiate, instrumentOrFail } from './harness.js';

const BIG = 1_000_000_000n;
const PASSINGS: FuelPassing[] = ['arguments', 'global'];
const I32_XOR = 0x73;

/**
 * run(n): acc = 0; do { acc = add(acc, n); acc = inc(acc) via the table } while (--n).
 * run's first declared local (acc, index 1) is the one the arguments passing moves;
 * inc declares its locals in a group of three.
 */
const callsModule = buildModule({
  table: { min: 1, elements: [2] },
  functions: [
    {
      params: [I32],
      results: [I32],
      locals: [I32, I64],
      exportName: 'run',
      body: [
        op.i32Const, 0, op.localSet, 1,
        op.loop, op.void,
        op.localGet, 1, op.localGet, 0, op.call, 1, op.localSet, 1,
        op.localGet, 1, op.i32Const, 0, op.callIndirect, 0, 0, op.localSet, 1,
        op.localGet, 0, op.i32Const, 1, op.i32Sub, op.localTee, 0,
        op.brIf, 0,
        op.end,
        op.localGet, 1,
      ],
    },
    { params: [I32, I32], results: [I32], body: [op.localGet, 0, op.localGet, 1, op.i32Add] },
    {
      params: [I32],
      results: [I32],
      localGroups: [[3, I32]],
      body: [
        op.localGet, 0, op.i32Const, 1, op.i32Add, op.localSet, 1,
        op.localGet, 1, op.localSet, 3,
        op.localGet, 3, op.localGet, 2, I32_XOR,
      ],
    },
  ],
}); // prettier-ignore

test('arguments or global passing: same results, same count, same exhaustion points', () => {
  const consumed: bigint[] = [];
  const stoppedAt: string[] = [];
  for (const fuelPassing of PASSINGS) {
    const metered = instrumentOrFail(callsModule, { fuelPassing });
    assert.is(metered.metadata.fuelPassing, fuelPassing);
    const run = instantiate(metered, BIG);
    assert.is(exported<(n: number) => number>(run.instance, 'run')(5), 20);
    consumed.push(run.consumed());
    // Which budgets run out of fuel (the checks are in the same places in both).
    const stopped: bigint[] = [];
    for (let budget = 0n; budget <= run.consumed(); budget++) {
      const limited = instantiate(metered, budget);
      try {
        assert.is(exported<(n: number) => number>(limited.instance, 'run')(5), 20);
      } catch (error) {
        if (!(error instanceof OutOfFuel)) throw error;
        stopped.push(budget);
      }
    }
    assert.ok(stopped.length > 0 && stopped.at(-1)! < run.consumed());
    stoppedAt.push(stopped.join());
  }
  assert.is(consumed[0], consumed[1]);
  assert.is(stoppedAt[0], stoppedAt[1]);
  // run: 3 (entry and after the loop) + 13 per iteration; add: 3 per call; inc: 9 per call.
  assert.is(consumed[0], 3n + 5n * (13n + 3n + 9n));
});

test('a refill at the entry of a function the host calls gives the same count', () => {
  // countdown(n) calls itself outside any loop, so its entry checks; the host calls the version
  // at the original index, whose refill calls the internal version and writes its counter back.
  const countdown = buildModule({
    functions: [
      {
        params: [I32],
        results: [I32],
        exportName: 'countdown',
        body: [
          op.localGet, 0, op.if, I32,
          op.localGet, 0, op.i32Const, 1, op.i32Sub, op.call, 0, op.i32Const, 1, op.i32Add,
          op.else, op.i32Const, 0, op.end,
        ],
      },
    ],
  }); // prettier-ignore
  for (const fuelPassing of PASSINGS) {
    const metered = instrumentOrFail(countdown, { fuelPassing });
    const whole = instantiate(metered, BIG);
    assert.is(exported<(n: number) => number>(whole.instance, 'countdown')(20), 20);
    for (const slice of [1n, 3n, 10n]) {
      // The global starts at 0: the first check, at the host's call, refills.
      let reserve = BIG;
      const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, 0n);
      const outOfFuel = (): void => {
        const available = reserve + (fuel.value as bigint);
        const grant = available < slice ? available : slice;
        reserve = available - grant;
        fuel.value = grant;
      };
      const run = instantiate(metered, BIG, { wasmos: { fuel, out_of_fuel: outOfFuel } });
      assert.is(exported<(n: number) => number>(run.instance, 'countdown')(20), 20);
      assert.is(
        BIG - reserve - (fuel.value as bigint),
        whole.consumed(),
        `${fuelPassing}, slice ${slice}`,
      );
    }
  }
});

test('a tail call the arguments cannot express falls back to passing through the global', () => {
  const host = { module: 'env', name: 'host' };
  const toImport = buildModule({
    imports: [host],
    functions: [{ body: [op.i32Const, 1, op.drop, op.returnCall, 0], exportName: 'run' }],
  });
  const indirect = buildModule({
    table: { min: 1, elements: [1] },
    functions: [
      { body: [op.i32Const, 0, op.returnCallIndirect, 0, 0], exportName: 'run' },
      { body: [op.i32Const, 5, op.drop] },
    ],
  });
  const direct = buildModule({
    functions: [
      { body: [op.returnCall, 1], exportName: 'run' },
      { body: [op.i32Const, 5, op.drop] },
    ],
  });
  const cases = [
    { bytes: toImport, passing: 'global', consumed: 2n },
    { bytes: indirect, passing: 'global', consumed: 3n },
    { bytes: direct, passing: 'arguments', consumed: 2n },
  ];
  for (const { bytes, passing, consumed } of cases) {
    const metered = instrumentOrFail(bytes, { fuelPassing: 'arguments' });
    assert.is(metered.metadata.fuelPassing, passing);
    const run = instantiate(metered, BIG, { imports: { env: { host: () => undefined } } });
    exported<() => void>(run.instance, 'run')();
    assert.is(run.consumed(), consumed);
  }
});

test('a function with as many parameters as engines allow keeps the counter in the global', () => {
  const params = Array.from({ length: 1000 }, () => I32);
  const bytes = buildModule({
    functions: [{ params, results: [I32], body: [op.localGet, 0], exportName: 'first' }],
  });
  const metered = instrumentOrFail(bytes, { fuelPassing: 'arguments' });
  assert.is(metered.metadata.fuelPassing, 'global');
  const run = instantiate(metered, BIG);
  assert.is(exported<(...args: number[]) => number>(run.instance, 'first')(7), 7);
  assert.is(run.consumed(), 1n);
});

test('an implicit trap reports the fuel written back at the latest function entry', () => {
  // run: i32.const, call (2, charged up front); divide: 3 charged at its entry, then traps.
  const divide = {
    params: [I32],
    results: [I32],
    body: [op.localGet, 0, op.i32Const, 0, op.i32DivU],
  };
  const trapInCallee = buildModule({
    functions: [{ body: [op.i32Const, 7, op.call, 1, op.drop], exportName: 'run' }, divide],
  });
  // run calls spin (a loop of 10 × 7) and then traps itself: the loop's charges,
  // made after spin's entry, are not in the global with arguments passing.
  const spin = { locals: [I32], body: [
    op.loop, op.void,
    op.localGet, 0, op.i32Const, 1, op.i32Add, op.localTee, 0, op.i32Const, 10, op.i32LtS,
    op.brIf, 0,
    op.end,
  ] }; // prettier-ignore
  const trapAfterCallee = buildModule({
    functions: [
      {
        body: [op.call, 1, op.i32Const, 1, op.i32Const, 0, op.i32DivU, op.drop],
        exportName: 'run',
      },
      spin,
    ],
  });
  for (const fuelPassing of PASSINGS) {
    const metered = instrumentOrFail(trapInCallee, { fuelPassing });
    const run = instantiate(metered, BIG);
    assert.throws(
      () => exported<() => void>(run.instance, 'run')(),
      (error: unknown) => error instanceof WebAssembly.RuntimeError,
    );
    assert.is(run.consumed(), 5n, fuelPassing);

    const after = instantiate(instrumentOrFail(trapAfterCallee, { fuelPassing }), BIG);
    assert.throws(
      () => exported<() => void>(after.instance, 'run')(),
      (error: unknown) => error instanceof WebAssembly.RuntimeError,
    );
    // run's region: call, 2 × i32.const, div (4); spin's loop: 10 × 7.
    assert.is(after.consumed(), fuelPassing === 'arguments' ? 4n : 4n + 70n, fuelPassing);
  }
});

test('the code after a block always left through its end is charged with the code before it', () => {
  // block; call host; local.get 0; br_if 0 (the block); i32.const; drop; end; i32.const; drop
  const body = (exit: number): number[] => [
    op.block, op.void,
    op.call, 0, op.localGet, 0, op.brIf, exit,
    op.i32Const, 1, op.drop,
    op.end,
    op.i32Const, 2, op.drop,
  ]; // prettier-ignore
  for (const fuelPassing of PASSINGS) {
    const cases = [
      // The block is left only through its end: its tail (1) is charged at entry with the call,
      // local.get and br_if (3).
      { exit: 0, seen: 100n - 4n, taken: 4n, fallthrough: 5n },
      // br_if 1 leaves the function: the tail is charged after the block, when reached.
      { exit: 1, seen: 100n - 3n, taken: 3n, fallthrough: 5n },
    ];
    for (const { exit, seen, taken, fallthrough } of cases) {
      const bytes = buildModule({
        imports: [{ module: 'env', name: 'host' }],
        functions: [{ params: [I32], body: body(exit), exportName: 'run' }],
      });
      const metered = instrumentOrFail(bytes, { fuelPassing });
      for (const [flag, consumed] of [
        [1, taken],
        [0, fallthrough],
      ] as const) {
        const global = { fuel: undefined as WebAssembly.Global | undefined };
        let seenByHost = -1n;
        const run = instantiate(metered, 100n, {
          imports: { env: { host: () => (seenByHost = global.fuel!.value as bigint) } },
        });
        global.fuel = run.fuel;
        exported<(flag: number) => void>(run.instance, 'run')(flag);
        assert.is(seenByHost, seen, `${fuelPassing}, exit ${exit}`);
        assert.is(run.consumed(), consumed, `${fuelPassing}, exit ${exit}, flag ${flag}`);
      }
    }
  }
});

test.run();
