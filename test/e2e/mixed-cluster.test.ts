/**
 * Mixed runtimes end to end: one framework on one master launches a Linux command task and a
 * WebAssembly task; each lands on an agent that offers its runtime and both results come back.
 * Real processes (`wasmos master`, two `wasmos agent`s: one wasm only, one wasm and linux).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Offer, TaskInfo } from '../../protocol/index.js';
import { HttpFramework } from './support/framework.js';
import { makeClusterKeys } from './support/keys.js';
import { taskResources, wasmTaskOn } from './support/tasks.js';
import { until } from '../support/until.js';
import { startAgentProcess, startMasterProcess } from './support/processes.js';
import { uploadProgram } from '../support/programs.js';

const REGISTERED = 'registered with the master';

const size = { cpus: 0.25, memMiB: 64 };

function linuxTask(taskId: string, offer: Offer): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources: taskResources(size),
    command: { shell: true, value: 'echo from-linux; exit 0' },
  };
}

test('one framework runs a Linux task and a wasm task side by side, each on an agent with its runtime', async () => {
  const keys = await makeClusterKeys(2);
  const master = await startMasterProcess(keys, join(keys.dir, 'master'));
  const wasmOnly = startAgentProcess(keys, 0, master.url, join(keys.dir, 'agent-wasm'), 'wasm');
  const mixed = startAgentProcess(keys, 1, master.url, join(keys.dir, 'agent-mixed'), 'wasm,linux');
  const framework = new HttpFramework(master.url, keys.framework, keys.masterTrust);
  try {
    const digest = await uploadProgram(master.url, 'hello');
    await wasmOnly.waitForLog((line) => line['message'] === REGISTERED, 'the wasm agent');
    await mixed.waitForLog((line) => line['message'] === REGISTERED, 'the mixed agent');
    await framework.subscribe();

    const linuxAgent = await framework.launch(
      (offer) => linuxTask('linux-1', offer),
      (offer) => offer.runtimes.includes('linux'),
    );
    const wasmAgent = await framework.launch(
      (offer) => wasmTaskOn(offer, 'wasm-1', size, { digest }),
      (offer) => !offer.runtimes.includes('linux'),
    );
    assert.is.not(linuxAgent, wasmAgent, 'the two tasks went to different agents');

    const linuxEnd = await until(
      () => framework.updatesOf('linux-1').find((status) => status.state === 'TASK_FINISHED'),
      'the Linux task to finish',
    );
    const wasmEnd = await until(
      () => framework.updatesOf('wasm-1').find((status) => status.state === 'TASK_FINISHED'),
      'the wasm task to finish',
    );
    assert.is(linuxEnd.agent_id?.value, linuxAgent);
    assert.is(linuxEnd.exit_code, 0);
    assert.is(wasmEnd.agent_id?.value, wasmAgent);
    assert.is(wasmEnd.exit_code, 0);
    assert.ok((wasmEnd.fuel_consumed ?? 0) > 0, 'the wasm task reports the fuel it used');
    const offersOfWasmAgent = framework.events.flatMap((event) =>
      event.type === 'OFFERS'
        ? event.offers.offers.filter((offer) => offer.agent_id.value === wasmAgent)
        : [],
    );
    assert.ok(offersOfWasmAgent.length > 0);
    assert.ok(
      offersOfWasmAgent.every((offer) => !offer.runtimes.includes('linux')),
      'a wasm-only agent never offers linux',
    );
  } catch (error) {
    console.error(`master log:\n${master.process.output()}`);
    console.error(`wasm agent log:\n${wasmOnly.output()}`);
    console.error(`mixed agent log:\n${mixed.output()}`);
    throw error;
  } finally {
    framework.close();
    await wasmOnly.stop();
    await mixed.stop();
    await master.process.stop();
    await rm(keys.dir, { recursive: true, force: true });
  }
});

test.run();
