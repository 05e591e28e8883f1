/**
 * Linux container launch to running: from `launch()` being called to it resolving (cgroup made
 * and limited, supervisor started, task joined its cgroup and exec'd into its namespaces), p50
 * and p99, beside a bare `node -e 0` start (the supervisor is a Node process: that is its floor)
 * and beside a wasm task's launch through the agent's wasm containerizer (hello.wasm, warm
 * executor), measured in the same run. Run as root on a host where linuxCapabilities() is ok.
 *
 *   npx tsc -p . && node dist/bench/containerizer/linux-launch.js [--count 40]
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { linuxCapabilities } from '../../agent/containerizer/linux/capabilities.js';
import { LinuxContainerizer } from '../../agent/containerizer/linux/linux-containerizer.js';
import { WasmContainerizer } from '../../agent/containerizer/wasm/wasm-containerizer.js';
import { agentLimits } from '../../agent/limits.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Executor } from '../../wasi-executor/executor.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '40' } } });
const count = Number(values.count);

function percentile(sortedMs: readonly number[], fraction: number): number {
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)]!;
}

function summary(label: string, samplesMs: number[]): string {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5).toFixed(1);
  const p99 = percentile(sorted, 0.99).toFixed(1);
  return `${label.padEnd(28)} p50 ${p50.padStart(7)} ms   p99 ${p99.padStart(7)} ms   (n=${sorted.length})`;
}

const capabilities = await linuxCapabilities();
if (!capabilities.ok) throw new Error(`cannot isolate here: ${capabilities.reasons.join('; ')}`);
const base = await mkdtemp(join(tmpdir(), 'wasmos-bench-linux-'));
await chmod(base, 0o755);
const containerizer = new LinuxContainerizer(capabilities, {
  agentName: `bench-${process.pid}`,
  runDir: join(base, 'run'),
});
const hello = fileURLToPath(
  new URL('../../../components/built/programs/hello.wasm', import.meta.url),
);
const executor = new Executor();
const wasm = new WasmContainerizer({
  executor,
  clock: systemClock,
  logger: silentLogger,
  logBytesMax: agentLimits.logBytesMax,
  logRotationsKept: agentLimits.logRotationsKept,
  outputBytesMax: agentLimits.wasmOutputBytesMax,
});
const launchMs: number[] = [];
const endToEndMs: number[] = [];
const nodeStartMs: number[] = [];
const wasmLaunchMs: number[] = [];
const wasmEndToEndMs: number[] = [];
try {
  for (let index = -1; index < count; index++) {
    // Round -1 warms the executor (worker started, hello compiled), as on a running agent.
    const wasmSandbox = await mkdtemp(join(base, 'wasm-'));
    const wasmStartedMs = performance.now();
    await wasm.launch({
      containerId: `wasm-${index}`,
      taskId: `wasm-${index}`,
      sandboxDir: wasmSandbox,
      runtime: 'wasm',
      resources: { cpus: 0.5, memMiB: 64, diskMiB: 16 },
      wasm: {
        componentPath: hello,
        digest: `sha256:${'0'.repeat(64)}`,
        fuel: 1e10,
        memoryBytesMax: 64 * 1024 * 1024,
        timeoutMs: 30_000,
        args: [],
        env: {},
        preopens: [],
        netAllow: [],
        entrypoint: 'command',
      },
    });
    const wasmLaunchedMs = performance.now() - wasmStartedMs;
    await wasm.wait(`wasm-${index}`);
    if (index < 0) continue;
    wasmLaunchMs.push(wasmLaunchedMs);
    wasmEndToEndMs.push(performance.now() - wasmStartedMs);
    const sandboxDir = await mkdtemp(join(base, 'sandbox-'));
    const startedMs = performance.now();
    await containerizer.launch({
      containerId: `bench-${index}`,
      taskId: `bench-${index}`,
      sandboxDir,
      runtime: 'linux',
      resources: { cpus: 0.5, memMiB: 64, diskMiB: 16 },
      command: { shell: true, value: 'exit 0', arguments: [], environment: {} },
    });
    launchMs.push(performance.now() - startedMs);
    await containerizer.wait(`bench-${index}`);
    endToEndMs.push(performance.now() - startedMs);
    const nodeStartedMs = performance.now();
    await promisify(execFile)(process.execPath, ['-e', '0']);
    nodeStartMs.push(performance.now() - nodeStartedMs);
  }
} finally {
  await new LinuxContainerizer(capabilities, {
    agentName: `bench-${process.pid}`,
    runDir: join(base, 'run'),
  }).recover([]);
  await containerizer.close();
  await executor.close();
  await rm(base, { recursive: true, force: true });
}
process.stdout.write(
  `linux containers, cgroup ${capabilities.layout.version}; node ${process.version}; load average ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}\n`,
);
process.stdout.write(`${summary('launch to running', launchMs)}\n`);
process.stdout.write(`${summary('launch to exit reported', endToEndMs)}\n`);
process.stdout.write(`${summary('bare node -e 0 (reference)', nodeStartMs)}\n`);
process.stdout.write(`${summary('wasm task launch to running', wasmLaunchMs)}\n`);
process.stdout.write(`${summary('wasm task launch to exit', wasmEndToEndMs)}\n`);
