import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { WasmSpec } from '../../agent/containerizer/containerizer.js';
import { WasmContainerizer } from '../../agent/containerizer/wasm/wasm-containerizer.js';
import { readLog } from '../../agent/sandbox/rotating-log.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Executor } from '../../wasi-executor/executor.js';
import {
  runContainerizerSuite,
  type SuiteTask,
  type SuiteTaskKind,
} from './containerizer-suite.js';
import { programPath as program } from '../support/programs.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const exitWith = join(root, 'test/agent/fixtures/exit-with.wasm');
const MiB = 1024 * 1024;

function wasmSpec(componentPath: string, overrides: Partial<WasmSpec> = {}): WasmSpec {
  return {
    componentPath,
    digest: `sha256:${'0'.repeat(64)}`,
    fuel: 10_000_000_000,
    memoryBytesMax: 64 * MiB,
    timeoutMs: 30_000,
    args: [],
    env: {},
    preopens: [],
    netAllow: [],
    entrypoint: 'command',
    ...overrides,
  };
}

function make(executor: Executor): WasmContainerizer {
  return new WasmContainerizer({
    executor,
    clock: systemClock,
    logger: silentLogger,
    logBytesMax: 4096,
    logRotationsKept: 1,
    outputBytesMax: MiB,
  });
}

const kinds: Record<SuiteTaskKind, WasmSpec> = {
  'exit-zero': wasmSpec(exitWith, { args: ['0'] }),
  'exit-three': wasmSpec(exitWith, { args: ['3'] }),
  'run-until-stopped': wasmSpec(program('infinite-loop')),
  'ignore-stop': wasmSpec(program('infinite-loop')),
  'exit-after-a-second': wasmSpec(program('infinite-loop'), { timeoutMs: 1000 }),
};
const resources = { cpus: 0.1, memMiB: 64, diskMiB: 0 };

runContainerizerSuite({
  name: 'wasm',
  make: async () => {
    const executor = new Executor({ limits: { workersMax: 2 } });
    return {
      containerizer: make(executor),
      task: (kind): SuiteTask => ({ runtime: 'wasm', resources, wasm: kinds[kind] }),
      restart: async () => make(executor),
      close: () => executor.close(),
    };
  },
  survivesAgentRestart: false,
});

const executor = new Executor({ limits: { workersMax: 2 } });
const dirs: string[] = [];
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-wasm-'));
  dirs.push(dir);
  return dir;
}

test('stdout goes to the sandbox log and the termination carries fuel, memory and duration', async () => {
  const containerizer = make(executor);
  const dir = sandbox();
  await containerizer.launch({
    containerId: 'hello',
    taskId: 'hello',
    sandboxDir: dir,
    resources,
    runtime: 'wasm',
    wasm: wasmSpec(program('hello')),
  });
  const termination = await containerizer.wait('hello');
  assert.is(termination.exitCode, 0);
  assert.ok((termination.fuelConsumed ?? 0) > 0);
  assert.ok((termination.peakMemoryBytes ?? 0) > 0);
  assert.is(Buffer.from(readLog(dir, 'stdout', 0, 1000).data).toString(), 'hello from wasm\n');
});

test('a task past its fuel ends with fuel_exhausted', async () => {
  const containerizer = make(executor);
  await containerizer.launch({
    containerId: 'spin',
    taskId: 'spin',
    sandboxDir: sandbox(),
    resources,
    runtime: 'wasm',
    wasm: wasmSpec(program('infinite-loop'), { fuel: 1_000_000 }),
  });
  assert.is((await containerizer.wait('spin')).reason, 'fuel_exhausted');
});

test('the memory cap holds: a memory bomb ends with memory_limit under 16 MiB', async () => {
  const containerizer = make(executor);
  await containerizer.launch({
    containerId: 'bomb',
    taskId: 'bomb',
    sandboxDir: sandbox(),
    resources,
    runtime: 'wasm',
    wasm: wasmSpec(program('memory-bomb'), { memoryBytesMax: 16 * MiB }),
  });
  const termination = await containerizer.wait('bomb');
  assert.is(termination.reason, 'memory_limit');
  assert.ok((termination.peakMemoryBytes ?? 0) <= 16 * MiB);
});

test('output past the log size is rotated and bounded on disk', async () => {
  const containerizer = make(executor);
  const dir = sandbox();
  await containerizer.launch({
    containerId: 'flood',
    taskId: 'flood',
    sandboxDir: dir,
    resources,
    runtime: 'wasm',
    wasm: wasmSpec(program('output-flood'), { timeoutMs: 2000 }),
  });
  await containerizer.wait('flood');
  const tail = readLog(dir, 'stdout', 0, 1_000_000);
  assert.ok(tail.size > 8192, 'wrote more than the two files hold');
  assert.ok(tail.data.length <= 8192, 'keeps at most the current file and one rotation');
  assert.ok(readFileSync(join(dir, 'stdout')).length <= 4096);
});

test('recover reports every checkpointed wasm container lost', async () => {
  const recovered = await make(executor).recover([
    { containerId: 'c1', taskId: 't1', runtime: 'wasm', state: {} },
  ]);
  assert.equal(recovered.running, []);
  assert.is(recovered.terminated[0]?.termination.reason, 'lost');
});

test('an invalid component fails the launch with a typed error', async () => {
  const containerizer = make(executor);
  const dir = sandbox();
  const bogus = join(dir, 'bogus.wasm');
  (await import('node:fs')).writeFileSync(bogus, 'not wasm');
  try {
    await containerizer.launch({
      containerId: 'bad',
      taskId: 'bad',
      sandboxDir: dir,
      resources,
      runtime: 'wasm',
      wasm: wasmSpec(bogus),
    });
    assert.unreachable('launch must reject');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'invalid_wasm');
  }
});

test.after(async () => {
  await executor.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
