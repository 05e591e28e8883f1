import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmosError } from '../../../lib/errors.js';
import { LinuxContainerizer } from '../../../agent/containerizer/linux/linux-containerizer.js';
import type { FilesystemMode } from '../../../agent/containerizer/linux/namespaces/filesystem.js';
import { withLinuxHarness } from './harness.js';

const DEADLINE_MS = 30_000;
const MiB = 1024 * 1024;

const readOutput = (sandbox: string) => readFile(join(sandbox, 'stdout'), 'utf8').catch(() => '');

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function expectError(code: string, attempt: () => unknown): Promise<WasmosError> {
  try {
    await attempt();
  } catch (error) {
    assert.instance(error, WasmosError);
    assert.is((error as WasmosError).code, code, (error as Error).message);
    return error as WasmosError;
  }
  throw new Error(`expected ${code}`);
}

test('each task has its own empty /tmp, /var/tmp and /dev/shm, invisible to others and the host', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const name = `wasmos-scratch-${process.pid}`;
    const writer = await harness.sandbox();
    const write = [
      'for d in /tmp /var/tmp /dev/shm; do echo secret > "$d/' + name + '"; done',
      'stat -c "%a %U" /tmp /var/tmp /dev/shm',
      'grep -E " /(tmp|var/tmp|dev/shm) " /proc/self/mountinfo | cut -d" " -f5,6',
      'echo written',
      'sleep 300',
    ].join('; ');
    await c.launch(harness.spec('writer', writer, { value: write }));
    try {
      const output = await until('the writer', async () => {
        const text = await readOutput(writer);
        return text.includes('written') ? text : undefined;
      });
      assert.equal(output.split('\n').slice(0, 3), ['1777 root', '1777 root', '1777 root']);
      for (const dir of ['/tmp', '/var/tmp', '/dev/shm']) {
        assert.match(output, new RegExp(`^${dir} rw,nosuid,nodev`, 'm'), `${dir} mount options`);
        assert.not.ok(existsSync(join(dir, name)), `the host sees the task's ${dir}/${name}`);
      }
      // A second task as the same user, while the first still runs and holds its files.
      const reader = await harness.sandbox();
      await c.launch(
        harness.spec('reader', reader, { value: 'ls -A /tmp /var/tmp /dev/shm; echo listed' }),
      );
      assert.is((await c.wait('reader')).exitCode, 0);
      // The sandbox itself lies under /tmp here: its path is all the reader's /tmp holds.
      const sandboxRoot = reader.startsWith('/tmp/') ? `${reader.split('/')[2]}\n` : '';
      assert.is(
        await readOutput(reader),
        `/dev/shm:\n\n/tmp:\n${sandboxRoot}\n/var/tmp:\nlisted\n`,
      );
    } finally {
      await c.kill('writer', 0);
    }
    assert.is((await c.wait('writer')).reason, 'killed');
    for (const dir of ['/tmp', '/var/tmp', '/dev/shm']) {
      assert.not.ok(existsSync(join(dir, name)), `${dir}/${name} outlived the task`);
    }
  }));

test('files in the private /tmp are charged to the task memory cgroup and bounded by its limit', () =>
  withLinuxHarness(async (harness) => {
    const c = harness.make();
    const holder = await harness.sandbox();
    await c.launch(
      harness.spec(
        'holder',
        holder,
        { value: 'head -c 25165824 /dev/zero > /tmp/fill && echo filled; sleep 300' },
        { memMiB: 64 },
      ),
    );
    try {
      await until('the 24 MiB file', async () =>
        (await readOutput(holder)).includes('filled') ? true : undefined,
      );
      // The writer exited: what the cgroup still holds is the tmpfs file.
      const usage = await c.usage('holder');
      assert.ok(usage, 'usage of a running task');
      assert.ok(
        usage.memoryBytes >= 24 * MiB,
        `the cgroup holds ${usage.memoryBytes} bytes, less than the 24 MiB file`,
      );
    } finally {
      await c.kill('holder', 0);
    }
    // 96 MiB into /tmp against a 32 MiB limit: the write is cut short (the OOM killer or a
    // failed write); what the task could keep is within its limit.
    const filler = await harness.sandbox();
    await c.launch(
      harness.spec(
        'filler',
        filler,
        { value: 'head -c 100663296 /dev/zero > /tmp/fill; echo "status $?"; wc -c < /tmp/fill' },
        { memMiB: 32 },
      ),
    );
    const termination = await c.wait('filler');
    const output = await readOutput(filler);
    if (termination.reason !== 'memory_limit') {
      const kept = Number(/^(\d+)$/m.exec(output)?.[1] ?? 'NaN');
      assert.match(output, /status [1-9]/, `the 96 MiB write succeeded: ${output}`);
      assert.ok(kept <= 32 * MiB, `the task kept ${kept} bytes in /tmp`);
    }
  }));

test('filesystem read-only: writes outside the sandbox fail with EROFS even as root', () =>
  withLinuxHarness(async (harness) => {
    const hostDir = `/var/lib/wasmos-test-${process.pid}`;
    // A mount of its own whose path mountinfo escapes (a space): it is made read-only too.
    const subMount = join(hostDir, 'sub mount');
    await mkdir(subMount, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', subMount]);
    try {
      const probe = [
        `touch ${hostDir}/from-task 2>&1; echo "host $?"`,
        `touch "${subMount}/from-task" 2>&1; echo "mount $?"`,
        'echo in > in-sandbox; echo "sandbox $?"',
        'echo t > /tmp/t; echo "tmp $?"',
        'id -u',
      ].join('; ');
      const writable = harness.make({ allowRoot: true });
      const first = await harness.sandbox();
      await writable.launch(harness.spec('rw', first, { value: probe, user: 'root' }));
      assert.is((await writable.wait('rw')).exitCode, 0);
      assert.is(await readOutput(first), 'host 0\nmount 0\nsandbox 0\ntmp 0\n0\n');
      assert.ok(existsSync(join(hostDir, 'from-task')), 'root writes the host by default');
      await rm(join(hostDir, 'from-task'));
      await rm(join(subMount, 'from-task'));

      const readOnly = harness.make({ allowRoot: true, filesystem: 'read-only' });
      const second = await harness.sandbox();
      await readOnly.launch(harness.spec('ro', second, { value: probe, user: 'root' }));
      assert.is((await readOnly.wait('ro')).exitCode, 0);
      const output = await readOutput(second);
      assert.match(output, /Read-only file system\nhost 1\n.*Read-only file system\nmount 1\n/);
      assert.match(output, /\nsandbox 0\ntmp 0\n0\n$/);
      assert.not.ok(existsSync(join(hostDir, 'from-task')));
      assert.not.ok(existsSync(join(subMount, 'from-task')));
      assert.is(await readFile(join(second, 'in-sandbox'), 'utf8'), 'in\n');
      // Only the task's mount namespace is read-only: the host still writes there.
      await writeFile(join(hostDir, 'from-host'), 'host');
    } finally {
      execFileSync('umount', [subMount]);
      await rm(hostDir, { recursive: true, force: true });
    }
  }));

test('a bad filesystem option is refused, and a failed mount is a launch failure that runs nothing', () =>
  withLinuxHarness(async (harness) => {
    const error = await expectError('invalid_option', () =>
      harness.make({ filesystem: 'readonly' as FilesystemMode }),
    );
    assert.match(error.message, /writable, read-only/);
    const { tools } = harness.capabilities;
    // A mount that fails at every step: the task must not start without its mounts.
    const broken = new LinuxContainerizer(
      { ...harness.capabilities, tools: { ...tools, mountPath: '/bin/false' } },
      { agentName: harness.agentName, runDir: harness.runDir, pollIntervalMs: 50 },
    );
    try {
      const sandbox = await harness.sandbox();
      const failed = await expectError('launch_failed', () =>
        broken.launch(harness.spec('nomount', sandbox, { value: 'touch ran' })),
      );
      assert.match(failed.message, /cannot mount a private tmpfs on \/tmp/);
      assert.not.ok(existsSync(join(sandbox, 'ran')), 'the task ran without its mounts');
      assert.not.ok(
        existsSync(join(harness.runDir, 'nomount')),
        'the failed launch left a run dir',
      );
    } finally {
      await broken.close();
    }
    // A mount that refuses only the read-only remounts: the loop's failure ends the launch too.
    // Outside /tmp: the harness's directories there are hidden once the task's tmpfs is on it.
    const toolsDir = `/var/lib/wasmos-test-tools-${process.pid}`;
    await mkdir(toolsDir, { recursive: true });
    const refusing = join(toolsDir, 'mount');
    await writeFile(
      refusing,
      `#!/bin/sh\ncase "$*" in *remount*) echo "remount refused" >&2; exit 32;; esac\nexec ${tools.mountPath} "$@"\n`,
      { mode: 0o755 },
    );
    const noRemount = new LinuxContainerizer(
      { ...harness.capabilities, tools: { ...tools, mountPath: refusing } },
      {
        agentName: harness.agentName,
        runDir: harness.runDir,
        pollIntervalMs: 50,
        filesystem: 'read-only',
      },
    );
    try {
      const sandbox = await harness.sandbox();
      const failed = await expectError('launch_failed', () =>
        noRemount.launch(harness.spec('noremount', sandbox, { value: 'touch ran' })),
      );
      assert.match(failed.message, /remount refused\ncannot make \/ read-only/);
      assert.not.ok(existsSync(join(sandbox, 'ran')), 'the task ran without a read-only host');
    } finally {
      await noRemount.close();
      await rm(toolsDir, { recursive: true, force: true });
    }
  }));

test.run();
