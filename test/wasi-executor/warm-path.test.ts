// The warm task path: a worker is sent each artifact once and keeps a bounded number of them,
// a short task's output comes back with its result, and held output goes out before a task
// sleeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import { createPreview1Host } from '../../wasi-executor/preview1/host.js';
import { defaultTaskLimits } from '../../wasi-executor/limits.js';
import { createTaskContext, type OutputStream } from '../../wasi-executor/worker/context.js';
import { bareGuestSpec } from '../../wasi-executor/guest.js';
import { prepareProgram, text } from './programs.js';

const spec = bareGuestSpec('probe');

test('one worker holding one artifact at a time runs three programs in turn, each with its own output', async () => {
  const executor = new Executor({ limits: { workersMax: 1, preparedEntriesMax: 1 } });
  try {
    const hello = await prepareProgram(executor, 'hello');
    const argsEcho = await prepareProgram(executor, 'args-echo');
    const envDump = await prepareProgram(executor, 'env-dump');
    for (let round = 0; round < 3; round++) {
      for (const [prepared, taskSpec, expected] of [
        [hello, {}, 'hello from wasm\n'],
        [hello, {}, 'hello from wasm\n'],
        [argsEcho, { args: [`round ${round}`] }, `round ${round}\n`],
        [envDump, { env: { ROUND: String(round) } }, `ROUND=${round}\n`],
      ] as const) {
        const streamed: string[] = [];
        const run = await executor.run(prepared, taskSpec, {
          onStdout: (bytes) => streamed.push(text(bytes)),
        });
        assert.ok(run.ok);
        assert.is(run.value.reason, 'exited', run.value.message);
        assert.is(text(run.value.stdout), expected);
        assert.is(streamed.join(''), expected, 'output carried by the result reaches onStdout too');
      }
    }
    assert.is(executor.workerCount, 1, 'the same worker served every task');
  } finally {
    await executor.close();
  }
});

test("a task's first writes are held until it flushes (its end, or before it blocks)", () => {
  const sent: Array<{ stream: OutputStream; text: string }> = [];
  const context = createTaskContext(spec, defaultTaskLimits, new Float64Array(2), (stream, bytes) =>
    sent.push({ stream, text: text(bytes) }),
  );
  context.stdout.write(new TextEncoder().encode('early'));
  context.recordProgress();
  assert.equal(sent, [], 'held within the first interval');
  context.flushOutput();
  assert.equal(sent, [{ stream: 'stdout', text: 'early' }]);
});

test('poll_oneoff calls beforeBlocking before it sleeps on a clock', () => {
  const sink = { write: () => undefined, bytesWritten: 0, truncated: false };
  let blocked = 0;
  const host = createPreview1Host({
    spec,
    stdout: sink,
    stderr: sink,
    onProgress: () => undefined,
    beforeBlocking: () => (blocked += 1),
  });
  const memory = new WebAssembly.Memory({ initial: 1 });
  host.bindMemory(memory);
  const view = new DataView(memory.buffer);
  // One relative clock subscription at 0: userdata 7, tag 0 (clock), monotonic, 2 ms.
  view.setBigUint64(0, 7n, true);
  view.setUint8(8, 0);
  view.setUint32(16, 1, true);
  view.setBigUint64(24, 2_000_000n, true);
  view.setUint16(40, 0, true);
  const pollOneoff = host.imports['poll_oneoff'] as unknown as (
    inAt: number,
    outAt: number,
    count: number,
    resultAt: number,
  ) => number;
  assert.is(pollOneoff(0, 256, 1, 512), 0, 'success');
  assert.is(blocked, 1);
  assert.is(view.getUint32(512, true), 1, 'one event');
  assert.is(view.getBigUint64(256, true), 7n, 'the clock fired');
  host.close();
});

test.run();
