/**
 * The master as users run it: `wasmos master` as a real process (a signed-CBOR framework
 * subscribes, the process stops cleanly on SIGTERM and keeps its registry across a restart),
 * and an in-process restart where a framework resubscribes with its id and agents recover.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateIdentity, type SchedulerCall } from '../../../protocol/index.js';
import { writeTestKey } from '../../support/keys.js';
import {
  cborFramework,
  contextOf,
  DriverAgent,
  makeKeys,
  removeKeys,
  startTestMaster,
  type Keys,
} from './scheduler-harness.js';
import { until } from '../../support/until.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');

const subscribeCall = (id?: string): SchedulerCall => ({
  type: 'SUBSCRIBE',
  ...(id ? { framework_id: { value: id } } : {}),
  subscribe: {
    framework_info: {
      user: 'alice',
      name: 'batch',
      failover_timeout: 3600,
      ...(id ? { id: { value: id } } : {}),
    },
  },
});

interface MasterProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Spawns `wasmos master` on an ephemeral port and waits for the URL it logs. */
async function spawnMaster(keys: Keys, extra: readonly string[] = []): Promise<MasterProcess> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'master',
      '--work-dir',
      join(keys.dir, 'work'),
      '--key',
      keys.masterKeyFile,
      '--trust',
      keys.trustDir,
      '--port',
      '0',
      '--allocation-interval',
      '50ms',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WASMOS_LOG: 'info' } },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = await until(() => {
    if (gone) throw new Error(`wasmos master exited early:\n${output}`);
    return /master listening url=(http:\/\/\S+)/.exec(output)?.[1];
  }, 'wasmos master to log its URL');
  return { child, url, output: () => output, exited };
}

test('wasmos master: a signed framework subscribes; SIGTERM stops it; a restart keeps the framework', async () => {
  const keys = await makeKeys();
  try {
    const first = await spawnMaster(keys);
    const framework = cborFramework(first.url, keys);
    assert.is((await framework.subscribe(subscribeCall())).status, 200);
    const frameworkId = (await framework.next('SUBSCRIBED')).subscribed.framework_id.value;
    const health = await fetch(`${first.url}/health`);
    assert.is(health.status, 200);

    first.child.kill('SIGTERM');
    assert.is(await first.exited, 0, first.output());
    await until(() => framework.ended, 'the event stream to end with the master');

    const second = await spawnMaster(keys);
    try {
      const again = cborFramework(second.url, keys);
      const response = await again.subscribe(subscribeCall(frameworkId));
      assert.is(response.status, 200, 'the registry kept the framework');
      const resubscribed = await again.next('SUBSCRIBED');
      assert.is(resubscribed.subscribed.framework_id.value, frameworkId);
      again.disconnect();
    } finally {
      second.child.kill('SIGTERM');
      assert.is(await second.exited, 0, second.output());
    }
  } finally {
    await removeKeys(keys);
  }
});

test('wasmos master refuses to start without --key or --trust, or with a bad flag', async () => {
  const keys = await makeKeys();
  try {
    for (const args of [
      ['master', '--trust', keys.trustDir, '--port', '0'],
      ['master', '--key', keys.masterKeyFile, '--port', '0'],
      ['master', '--key', keys.masterKeyFile, '--trust', keys.trustDir, '--port', '70000'],
      [
        'master',
        '--key',
        keys.masterKeyFile,
        '--trust',
        keys.trustDir,
        '--allocation-interval',
        'soon',
      ],
    ]) {
      const child = spawn(process.execPath, [CLI, ...args, '--work-dir', join(keys.dir, 'w')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.is(code, 1, args.join(' '));
      assert.match(stderr, /BAD_OPTION/);
    }
  } finally {
    await removeKeys(keys);
  }
});

test('restart: the registry survives, agents recover, a framework resubscribes with its id', async () => {
  const keys = await makeKeys();
  try {
    const first = await startTestMaster(keys);
    const agent = new DriverAgent(contextOf(first), keys.agent.keyId);
    const agentId = await agent.register();
    const framework = cborFramework(first.url, keys);
    await framework.subscribe(subscribeCall());
    const frameworkId = (await framework.next('SUBSCRIBED')).subscribed.framework_id.value;
    await first.stop();
    await until(() => framework.ended, 'the stream to end when the master stops');

    const second = await startTestMaster(keys);
    try {
      assert.is.not(second.masterId, first.masterId, 'a fresh master id per run');
      const view = contextOf(second).driver.view();
      assert.is(view.agents.get(agentId)?.status, 'recovering');
      assert.ok(view.frameworks.has(frameworkId));

      const again = cborFramework(second.url, keys);
      assert.is((await again.subscribe(subscribeCall(frameworkId))).status, 200);
      assert.is((await again.next('SUBSCRIBED')).subscribed.framework_id.value, frameworkId);

      // Another principal cannot take the recovered framework over.
      const other = cborFramework(second.url, keys, keys.otherFramework);
      assert.is((await other.subscribe(subscribeCall(frameworkId))).status, 403);
      again.disconnect();
    } finally {
      await second.stop();
    }
  } finally {
    await removeKeys(keys);
  }
});

test('a framework key added to the trust directory is accepted without a restart', async () => {
  const keys = await makeKeys();
  try {
    const master = await startTestMaster(keys);
    try {
      const newcomer = generateIdentity();
      const client = cborFramework(master.url, keys, newcomer);
      assert.is((await client.subscribe(subscribeCall())).status, 403, 'unknown key at first');
      await writeTestKey(keys.trustDir, 'newcomer', 'framework', newcomer);
      // The directory is watched; SIGHUP is the operator's way to force a reload.
      process.kill(process.pid, 'SIGHUP');
      const status = await until(async () => {
        const response = await client.subscribe(subscribeCall());
        return response.status === 200 ? response.status : undefined;
      }, 'the new key to be trusted');
      assert.is(status, 200);
      await client.next('SUBSCRIBED');
      client.disconnect();
    } finally {
      await master.stop();
    }
  } finally {
    await removeKeys(keys);
  }
});

test('stop closes every stream and frees the port', async () => {
  const keys = await makeKeys();
  try {
    const master = await startTestMaster(keys);
    const framework = cborFramework(master.url, keys);
    await framework.subscribe(subscribeCall());
    await framework.next('SUBSCRIBED');
    await master.stop();
    await until(() => framework.ended, 'the stream to end');
    assert.is(master.context, undefined);
    const refused = await fetch(`${master.url}/health`).then(
      () => 'answered',
      () => 'refused',
    );
    assert.is(refused, 'refused');
  } finally {
    await removeKeys(keys);
  }
});

test.run();
