import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmosError } from '../../../lib/errors.js';
import { parseCheckpointState } from '../../../agent/containerizer/linux/run-records.js';
import { parsePids } from '../../../agent/containerizer/linux/cgroups/stats.js';
import { until } from '../../support/until.js';
import { withLinuxHarness } from './harness.js';

function v1Dir(
  state: Readonly<Record<string, unknown>>,
  controller: 'pids' | 'freezer' | 'cpuacct',
) {
  const parsed = parseCheckpointState(state);
  assert.ok(parsed, 'launch returns a checkpoint state');
  assert.is(parsed.cgroup.version, 'v1', 'this machine runs cgroup v1');
  if (parsed.cgroup.version !== 'v1') throw new Error('unreachable');
  const dir = parsed.cgroup.dirs[controller];
  assert.ok(dir, `the ${controller} hierarchy is used`);
  return dir;
}

/**
 * Exited, or a zombie: the task's PID 1 loses its parent (unshare) in the same SIGKILL, so the
 * host's init reaps it, in its own time.
 */
async function isRunning(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return status !== '' && !/^State:\s+Z/m.test(status);
}

const readOutput = (sandbox: string) => readFile(join(sandbox, 'stdout'), 'utf8');

test('a task allocating past its memory limit is OOM-killed and reported as memory_limit', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    // tail keeps a newline-free input whole in memory: 256 MiB against a 32 MiB limit.
    await c.launch(
      harness.spec('oom', sandbox, { value: 'head -c 268435456 /dev/zero | tail' }, { memMiB: 32 }),
    );
    const termination = await c.wait('oom');
    assert.is(termination.reason, 'memory_limit');
    assert.match(termination.message, /memory limit of 32 MiB/);
    assert.ok((termination.peakMemoryBytes ?? 0) <= 32 * 1024 * 1024 + 1024 * 1024);
  }));

test('a busy loop with cpus 0.5 uses about half a core, measured from cgroup cpu usage', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    await c.launch(harness.spec('busy', sandbox, { value: 'while :; do :; done' }, { cpus: 0.5 }));
    try {
      const cpuTimeMs = async () => (await c.usage('busy'))?.cpuTimeMs;
      // The loop runs (whatever the machine's load lets it have) before the window opens.
      await until(async () => ((await cpuTimeMs()) ?? 0) > 50, 'the loop to use CPU');
      const startMs = Date.now();
      const before = await cpuTimeMs();
      await sleep(3_000);
      const after = await cpuTimeMs();
      const wallMs = Date.now() - startMs;
      assert.ok(before !== undefined && after !== undefined);
      const cores = (after - before) / wallMs;
      // The quota caps it at 0.5; others' load on this shared machine may leave it less, so
      // only the cap is asserted.
      assert.ok(cores <= 0.65, `used ${cores.toFixed(2)} cores, above the 0.5 quota`);
      assert.ok(after > before, 'the loop kept running');
    } finally {
      await c.kill('busy', 0);
    }
  }));

test('a fork bomb is contained by pids.max and the host stays responsive', () =>
  withLinuxHarness(async (harness) => {
    const pidsMax = 64;
    const c = harness.make({ pidsMax });
    const sandbox = await harness.sandbox();
    const state = await c.launch(
      harness.spec(
        'bomb',
        sandbox,
        { value: 'bomb() { bomb | bomb & }; bomb; sleep 60' },
        { cpus: 0.5 },
      ),
    );
    const pidsDir = v1Dir(state, 'pids');
    // The bomb reaches the limit in its own time on a loaded machine.
    await until(
      async () => /max [1-9]/.test(await readFile(join(pidsDir, 'pids.events'), 'utf8')),
      'forks to be refused at the limit',
    );
    const current = Number(await readFile(join(pidsDir, 'pids.current'), 'utf8'));
    assert.ok(current <= pidsMax, `${current} processes, above pids.max ${pidsMax}`);
    assert.is(spawnSync('/bin/true').status, 0, 'the host can still start processes');
    await c.kill('bomb', 0);
    assert.is((await c.wait('bomb')).reason, 'killed');
    assert.not.ok(existsSync(pidsDir), 'the cgroup is removed');
  }));

test('the task is PID 1 of its own namespace and sees no host process', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    const script = 'echo "self $$"; ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "';
    await c.launch(harness.spec('pidns', sandbox, { value: script }));
    assert.is((await c.wait('pidns')).exitCode, 0);
    const [self, listed] = (await readOutput(sandbox)).split('\n');
    assert.is(self, 'self 1');
    const pids = (listed ?? '').trim().split(' ').map(Number);
    assert.ok(pids.includes(1));
    assert.ok(pids.length <= 4, `the task saw ${pids.length} processes: ${listed}`);
    assert.not.ok(pids.includes(process.pid) && process.pid > 4, 'the test process is invisible');
  }));

test('kill leaves no process behind, not even a double-forked daemon that ignores SIGTERM', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    const script = "trap '' TERM; ( ( sleep 300 & ) & ); sleep 300";
    const state = await c.launch(harness.spec('daemon', sandbox, { value: script }));
    const freezerDir = v1Dir(state, 'freezer');
    // Once both sleeps run (the daemon's and the shell's own), everything the task will start
    // has started.
    const pids = await until(async () => {
      const running = parsePids(await readFile(join(freezerDir, 'cgroup.procs'), 'utf8'));
      const names = await Promise.all(
        running.map((pid) => readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')),
      );
      return names.filter((name) => name.trim() === 'sleep').length >= 2 && running;
    }, 'the shell and the double-forked daemon to run');
    assert.ok(pids.length >= 3, `unshare, the shell and the daemon run (${pids.length})`);
    await c.kill('daemon', 200);
    assert.is((await c.wait('daemon')).reason, 'killed');
    for (const pid of pids) assert.not.ok(await isRunning(pid), `process ${pid} survived`);
    assert.not.ok(existsSync(freezerDir), 'the cgroup is removed');
  }));

test("the task's environment reaches only the task, never a step that runs as root", () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    // The dynamic loader of every process that gets this variable complains once on stderr;
    // had a root step (the join shell, unshare, the filesystem step, setpriv) got it, a library
    // the task names would have run as root on the host.
    const missing = `/nonexistent/wasmos-preload-${process.pid}.so`;
    await c.launch(
      harness.spec('preload', sandbox, {
        shell: false,
        value: '/usr/bin/printenv',
        arguments: ['printenv', 'LD_PRELOAD'],
        environment: { LD_PRELOAD: missing },
      }),
    );
    assert.is((await c.wait('preload')).exitCode, 0);
    assert.is(await readOutput(sandbox), `${missing}\n`);
    const stderr = await readFile(join(sandbox, 'stderr'), 'utf8');
    const complaints = stderr.split('\n').filter((line) => line.includes(missing));
    assert.is(complaints.length, 1, `only the task loaded with it:\n${stderr}`);
  }));

test('the task runs as nobody in its sandbox with only its own environment', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    await c.launch(
      harness.spec('who', sandbox, {
        shell: false,
        value: '/usr/bin/env',
        environment: { ONLY: 'this' },
      }),
    );
    assert.is((await c.wait('who')).exitCode, 0);
    assert.is(await readOutput(sandbox), 'ONLY=this\n');
    const second = await harness.sandbox();
    await c.launch(
      harness.spec('where', second, { value: 'id -u; pwd; cat /proc/net/dev | tail -n +3' }),
    );
    assert.is((await c.wait('where')).exitCode, 0);
    const [uid, cwd, ...interfaces] = (await readOutput(second)).trim().split('\n');
    assert.is(uid, '65534');
    assert.is(cwd, second);
    assert.equal(
      interfaces.map((line) => line.trim().split(':')[0]),
      ['lo'],
      'network none: loopback only',
    );
  }));

test('launch refuses root, bad ids and bad resources, and leaves nothing behind', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const sandbox = await harness.sandbox();
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['root_not_allowed', () => c.launch(harness.spec('root', sandbox, { user: 'root' }))],
      [
        'unknown_user',
        () => c.launch(harness.spec('ghost', sandbox, { user: 'no-such-user-here' })),
      ],
      ['invalid_container_id', () => c.launch(harness.spec('../escape', sandbox, {}))],
      ['invalid_resources', () => c.launch(harness.spec('cpu0', sandbox, {}, { cpus: 0 }))],
    ];
    for (const [code, attempt] of attempts) {
      try {
        await attempt();
        assert.unreachable(`expected ${code}`);
      } catch (error) {
        assert.instance(error, WasmosError);
        assert.is((error as WasmosError).code, code);
      }
    }
    assert.not.ok(existsSync(harness.runDir) && existsSync(join(harness.runDir, 'root')));
  }));

test.run();
