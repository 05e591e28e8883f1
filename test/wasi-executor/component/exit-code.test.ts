// wasi:cli/exit on our host: `exit` carries only ok/err (0 or 1); the unstable
// `exit-with-code` carries the code itself. A hand-written component calls each directly, so
// the host's answer is seen without an adapter in between (jco's bundled preview1 adapter only
// ever calls `exit`: test/conformance/adapter-differences.test.ts).
import { parse } from '@bytecodealliance/jco';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestExit } from '../../../wasi-executor/guest.js';
import { prepared, run } from './support.js';

/** A wasi:cli/command whose run does CALL (core wasm using $exit and $exit-with-code). */
function exitingCommand(call: string): string {
  return `(component
    (import "wasi:cli/exit@0.2.6" (instance $exit-interface
      (export "exit" (func (param "status" (result))))
      (export "exit-with-code" (func (param "status-code" u8)))))
    (core func $exit (canon lower (func $exit-interface "exit")))
    (core func $exit-with-code (canon lower (func $exit-interface "exit-with-code")))
    (core module $main
      (import "host" "exit" (func $exit (param i32)))
      (import "host" "exit-with-code" (func $exit-with-code (param i32)))
      (func (export "run") (result i32) ${call} (i32.const 0)))
    (core instance $instance (instantiate $main (with "host" (instance
      (export "exit" (func $exit))
      (export "exit-with-code" (func $exit-with-code))))))
    (func $run (result (result)) (canon lift (core func $instance "run")))
    (instance $run-interface (export "run" (func $run)))
    (export "wasi:cli/run@0.2.6" (instance $run-interface)))`;
}

async function exitCodeOf(call: string): Promise<number | undefined> {
  const result = await run(await prepared(await parse(exitingCommand(call))));
  if (result.outcome?.kind === 'exited') return result.outcome.exitCode;
  return result.thrown instanceof GuestExit ? result.thrown.exitCode : undefined;
}

test('exit-with-code ends the task with that code', async () => {
  assert.is(await exitCodeOf('(call $exit-with-code (i32.const 33))'), 33);
  assert.is(await exitCodeOf('(call $exit-with-code (i32.const 255))'), 255);
  assert.is(await exitCodeOf('(call $exit-with-code (i32.const 0))'), 0);
});

test('exit with err ends the task with 1, with ok with 0', async () => {
  assert.is(await exitCodeOf('(call $exit (i32.const 1))'), 1);
  assert.is(await exitCodeOf('(call $exit (i32.const 0))'), 0);
});

test.run();
