/**
 * A task's `disk` resource limits its sandbox: an agent running both runtimes measures each
 * running task's sandbox every diskCheckIntervalMs and kills a task over it, reporting
 * TASK_FAILED with REASON_CONTAINER_LIMITATION_DISK. Real tasks, real files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, type RunningAgent } from '../../../agent/agent.js';
import { LinuxContainerizer } from '../../../agent/containerizer/linux/linux-containerizer.js';
import { silentLogger } from '../../../lib/log.js';
import { generateIdentity } from '../../../protocol/keys/identity.js';
import { fieldLimits } from '../../../protocol/limits.js';
import { eventually, FakeMaster } from '../support/fake-master.js';
import { AGENT_DEADLINE_MS, commandTask, untilState } from '../support/task-updates.js';
import { readyCapabilities } from './harness.js';
import { programBytes } from '../../support/programs.js';

const master = new FakeMaster();
const identity = generateIdentity();
let base = '';
let agent: RunningAgent;
const TERMINAL = ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR'];

test.before(async () => {
  await master.start();
  master.trustAgent(identity);
  base = await mkdtemp(join(tmpdir(), 'wasmos-disk-'));
  agent = await startAgent({
    masterUrl: master.url,
    workDir: join(base, 'work'),
    trust: master.masterTrust(),
    identity,
    resources: { cpus: 2, mem: 1024, disk: 1024 },
    runtimes: ['wasm', 'linux'],
    logger: silentLogger,
    limits: {
      reconnectBackoffBaseMs: 20,
      reconnectBackoffMaxMs: 100,
      updateRetryBaseMs: 200,
      diskCheckIntervalMs: 200,
    },
  });
  await eventually(
    'the agent subscribed',
    () => (agent.snapshot().connected ? true : undefined),
    AGENT_DEADLINE_MS,
  );
});

test.after(async () => {
  await agent.stop();
  // Nothing of a failed test may stay: containers still running are killed, cgroups removed.
  const sweeper = new LinuxContainerizer(await readyCapabilities(), {
    agentName: `agent-${identity.keyId}`,
    runDir: join(base, 'work', 'linux'),
  });
  await sweeper.recover([]);
  await sweeper.close();
  await master.stop();
  await rm(base, { recursive: true, force: true });
});

test('a linux task writing past its disk is killed and reported REASON_CONTAINER_LIMITATION_DISK', async () => {
  assert.equal(agent.runtimes, ['wasm', 'linux']);
  master.send({
    type: 'LAUNCH',
    launch: {
      framework_id: { value: 'fw' },
      // 24 MiB of real blocks against 8 MiB, then it would run for five minutes. Memory has
      // room for the page cache the writes are charged with.
      task: commandTask('writer', 'head -c 25165824 /dev/zero > big && sleep 300', {
        disk: 8,
        mem: 256,
      }),
    },
  });
  const ended = await untilState(master, 'writer', TERMINAL);
  assert.is(ended.status.state, 'TASK_FAILED');
  assert.is(ended.status.reason, 'REASON_CONTAINER_LIMITATION_DISK');
  assert.match(ended.status.message ?? '', /disk limit exceeded: .* of the task's 8 MiB disk/);
  assert.is(ended.status.exit_code, undefined, 'it did not exit by itself');
});

test('a linux task within its disk is left alone', async () => {
  master.send({
    type: 'LAUNCH',
    launch: {
      framework_id: { value: 'fw' },
      task: commandTask('small', 'head -c 1048576 /dev/zero > small && sleep 1', { disk: 8 }),
    },
  });
  const ended = await untilState(master, 'small', TERMINAL);
  assert.is(ended.status.state, 'TASK_FINISHED');
  assert.is(ended.status.exit_code, 0);
});

test('a wasm task writing past its disk (its output lands in its sandbox) is killed the same way', async () => {
  const flood = master.addBlob(programBytes('output-flood'));
  master.send({
    type: 'LAUNCH',
    launch: {
      framework_id: { value: 'fw' },
      task: {
        name: 'flood',
        task_id: { value: 'flood' },
        agent_id: { value: 'agent' },
        resources: [
          { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
          { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
          { name: 'disk', type: 'SCALAR', scalar: { value: 4 } },
        ],
        // Fuel and time enough that only the disk check can end it within the deadline.
        wasm: { digest: flood, fuel: fieldLimits.wasmFuelMax, timeout_ms: 600_000 },
      },
    },
  });
  const ended = await untilState(master, 'flood', TERMINAL);
  assert.is(ended.status.state, 'TASK_FAILED');
  assert.is(ended.status.reason, 'REASON_CONTAINER_LIMITATION_DISK');
  assert.match(ended.status.message ?? '', /of the task's 4 MiB disk/);
});

test.run();
