// Why four wasi-testsuite tests end differently through the component path
// (known-differences.ts, docs/COMPONENTS.md), shown rather than claimed:
// - jco's own runner (`jco run`: its glue on preview2-shim, in a child process) ends each of the
//   four exactly as our host does, so the difference travels with the component;
// - small preview1 probes, adapted the same way and run on our host, isolate each cause.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, preview1AdapterCommandPath, print } from '@bytecodealliance/jco';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import type { TaskResult, TaskSpec } from '../../wasi-executor/types.js';
import { adaptCommand } from './adapt.js';
import { canaryTrap, knownDifferences } from './known-differences.js';
import { expectationOf, findTests } from './suite.js';

const jcoCli = fileURLToPath(new URL('jco.js', import.meta.resolve('@bytecodealliance/jco')));
/** Generous: a child transpiles the component before running it, on a loaded machine. */
const jcoRunTimeoutMs = 120_000;
const executor = new Executor();
const scratch = mkdtempSync(join(tmpdir(), 'adapter-differences-'));
const decoder = new TextDecoder();

async function runOnOurHost(watSource: string, spec: TaskSpec = {}): Promise<TaskResult> {
  const prepared = await executor.prepare(await adaptCommand(await parse(watSource)));
  if (!prepared.ok) throw prepared.error;
  const run = await executor.run(prepared.value, { programName: 'probe.wasm', ...spec });
  if (!run.ok) throw run.error;
  return run.value;
}

/** `jco run` with exactly the test's arguments and environment (preview2-shim reads both). */
function runWithJco(component: Uint8Array, name: string, args: string[], env: object) {
  const path = join(scratch, `${name}.wasm`);
  writeFileSync(path, component);
  return spawnSync(process.execPath, [jcoCli, 'run', path, ...args], {
    env: { ...env },
    encoding: 'utf8',
    timeout: jcoRunTimeoutMs,
  });
}

test('jco run (preview2-shim) ends each of the four as our host does', async () => {
  const testFiles = findTests();
  for (const [name, known] of Object.entries(knownDifferences)) {
    const wasmPath = testFiles.find((path) => path.endsWith(`/${name}.wasm`));
    assert.ok(wasmPath !== undefined, name);
    const expected = expectationOf(wasmPath);
    const component = await adaptCommand(readFileSync(wasmPath));
    const child = runWithJco(component, name, expected.args ?? [], expected.env ?? {});
    assert.is(child.error, undefined, `${name}: ${String(child.error)}`);
    if (known.reason === 'trap') {
      // Node reports the uncaught trap after what the guest wrote, and exits 1.
      assert.is(child.status, 1, name);
      assert.ok(child.stderr.startsWith(known.stderr), `${name}: ${child.stderr}`);
      assert.match(child.stderr, 'RuntimeError: wasm trap', name);
    } else {
      assert.is(child.status, known.exitCode, name);
      assert.is(child.stderr, known.stderr, name);
    }
  }
});

/** Calls SIZES then GET (args or environ), optionally overwriting the last word of memory between. */
function stringsProbe(kind: 'args' | 'environ', lastWord: 'keep' | 'overwrite'): string {
  // What AssemblyScript's TLSF allocator writes there when it starts after the adapter has
  // grown memory: its zero-size tail block's header, 0 | LEFTFREE = 2, at memory.size - 4.
  const overwrite =
    lastWord === 'overwrite'
      ? `(i32.store (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4)) (i32.const 2))`
      : '';
  return `(module
    (import "wasi_snapshot_preview1" "${kind}_sizes_get" (func $sizes (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "${kind}_get" (func $get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func $print (param $at i32) (param $length i32)
      (i32.store (i32.const 16) (local.get $at))
      (i32.store (i32.const 20) (local.get $length))
      (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
    (func (export "_start")
      (drop (call $sizes (i32.const 0) (i32.const 4)))
      ;; the adapter's State is now the last page: print its last word, its end canary
      (call $print (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4)) (i32.const 4))
      ${overwrite}
      (drop (call $get (i32.const 1024) (i32.const 2048)))
      (call $print (i32.const 2048) (i32.load (i32.const 4)))))`;
}

test('several arguments and variables reach an adapted guest intact through our host', async () => {
  const args = ['first', 'the "second" arg', '3'];
  const env = { a: 'text', b: 'escap " ing', c: 'new\nline' };
  const argsRun = await runOnOurHost(stringsProbe('args', 'keep'), { args });
  assert.is(argsRun.reason, 'exited', argsRun.message);
  assert.is(decoder.decode(argsRun.stdout), `ugh!probe.wasm\0${args.join('\0')}\0`);
  const envRun = await runOnOurHost(stringsProbe('environ', 'keep'), { env });
  assert.is(envRun.reason, 'exited', envRun.message);
  assert.is(decoder.decode(envRun.stdout), 'ugh!a=text\0b=escap " ing\0c=new\nline\0');
});

test("overwriting the adapter's end canary, the last word of memory, traps as the two tests do", async () => {
  for (const kind of ['args', 'environ'] as const) {
    const result = await runOnOurHost(stringsProbe(kind, 'overwrite'), {
      args: ['one', 'two'],
      env: { one: '1', two: '2' },
    });
    assert.is(result.reason, 'trap', kind);
    assert.is(decoder.decode(result.stdout), 'ugh!', kind);
    assert.is(decoder.decode(result.stderr), canaryTrap, kind);
  }
});

test('the adapter answers a write of zero buffers to an unknown fd with success, of one byte with BADF', async () => {
  // Prints the two errnos as two digits each: success is 0, BADF is 8.
  const result = await runOnOurHost(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "x")
    (func $digits (param $at i32) (param $n i32)
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.div_u (local.get $n) (i32.const 10))))
      (i32.store8 (i32.add (local.get $at) (i32.const 1))
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10)))))
    (func (export "_start")
      (call $digits (i32.const 200)
        (call $write (i32.const -31337) (i32.const 0) (i32.const 0) (i32.const 8)))
      (i32.store (i32.const 16) (i32.const 100))
      (i32.store (i32.const 20) (i32.const 1))
      (call $digits (i32.const 203)
        (call $write (i32.const -31337) (i32.const 16) (i32.const 1) (i32.const 8)))
      (i32.store8 (i32.const 202) (i32.const 32))
      (i32.store8 (i32.const 205) (i32.const 10))
      (i32.store (i32.const 16) (i32.const 200))
      (i32.store (i32.const 20) (i32.const 6))
      (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))))`);
  assert.is(result.exitCode, 0, result.message);
  assert.is(decoder.decode(result.stdout), '00 08\n');
});

test('the bundled adapter imports wasi:cli/exit exit, never exit-with-code', async () => {
  const adapterText = await print(readFileSync(preview1AdapterCommandPath()));
  const exitImports = [...adapterText.matchAll(/\(import "wasi:cli\/exit@[\d.]+" "([^"]+)"/g)];
  assert.equal(
    exitImports.map((match) => match[1]),
    ['exit'],
  );
});

test.after(async () => {
  await executor.close();
  rmSync(scratch, { recursive: true, force: true });
});

test.run();
