/**
 * The cluster benches run end to end with tiny counts, so they do not rot: each is started as
 * its own process from dist/ (as a person would run it) and must exit 0 having printed its
 * figures. No figure is asserted: they depend on the machine and its load.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const distBench = fileURLToPath(new URL('../../bench/', import.meta.url));
/** A tiny run takes seconds when idle; the CI machine may be loaded many times over. */
const RUN_DEADLINE_MS = 240_000;

async function runBench(
  script: string,
  args: string[],
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [distBench + script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, out };
}

test('offers bench: simulated agents and a framework through the HTTP API', async () => {
  const { code, out } = await runBench('master/offers.js', ['--agents', '2', '--tasks', '20']);
  assert.is(code, 0, out);
  assert.match(out, /tasks 20\/20 finished and acknowledged \(0 failed\)/);
  assert.match(out, /launches\s+20\s/);
  assert.match(out, /master CPU \d+ ms: [\d.]+ ms per task/);
});

for (const api of ['scheduler', 'jobs']) {
  test(`cluster bench (--api ${api}): hello.wasm through real agents`, async () => {
    const { code, out } = await runBench('cluster/throughput.js', [
      '--api',
      api,
      '--tasks',
      '6',
      '--latency-tasks',
      '4',
      '--warmup-tasks',
      '2',
      '--rate',
      '20',
    ]);
    assert.is(code, 0, out);
    assert.match(out, /throughput \(6 at once\): 6\/6 ended, 0 failed/);
    assert.match(out, /latency \(4 at 20\/s\): 4\/4 ended, 0 failed/);
    assert.match(out, /submit to running: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(out, /CPU per task: master [\d.]+ ms, agents [\d.]+ ms, submitter [\d.]+ ms/);
  });
}

test.run();
