import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeCgroupFs } from '../../../agent/containerizer/linux/cgroups/fs.js';
import { parseCgroupMounts } from '../../../agent/containerizer/linux/cgroups/mountinfo.js';
import { freezeV2, thawV2 } from '../../../agent/containerizer/linux/cgroups/subsystems/freezer.js';
import {
  allSubsystems,
  subsystemRegistry,
} from '../../../agent/containerizer/linux/cgroups/subsystems/index.js';
import { createV2Backend } from '../../../agent/containerizer/linux/cgroups/v2.js';
import { FakeCgroupFs } from './fake-cgroupfs.js';

const MOUNT = '/fake/cgroup';
const LIMITS = { cpus: 0.5, memBytes: 64 * 1024 * 1024, pidsMax: 1024, cfsQuota: true };

function fakeHost(
  options: { offered?: string[]; cgroupKill?: boolean; memoryPeak?: boolean } = {},
) {
  const fs = new FakeCgroupFs(MOUNT, options.offered ?? ['cpu', 'memory', 'pids', 'io'], {
    cgroupKill: options.cgroupKill ?? true,
    memoryPeak: options.memoryPeak ?? true,
  });
  return { fs, backend: createV2Backend(fs, MOUNT, allSubsystems) };
}

function sleeper(): ChildProcess {
  return spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
}

const exitOf = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );

test('v2 create enables controllers down the tree and writes every limit in the leaf', async () => {
  const { fs, backend } = fakeHost();
  const paths = backend.pathsFor('wasmos/agent-1/c1');
  assert.equal(paths, { version: 'v2', dir: `${MOUNT}/wasmos/agent-1/c1` });
  await backend.create(paths, LIMITS);
  const leaf = `${MOUNT}/wasmos/agent-1/c1`;
  assert.equal(fs.writes, [
    [`${MOUNT}/cgroup.subtree_control`, '+cpu +memory +pids'],
    [`${MOUNT}/wasmos/cgroup.subtree_control`, '+cpu +memory +pids'],
    [`${MOUNT}/wasmos/agent-1/cgroup.subtree_control`, '+cpu +memory +pids'],
    [`${leaf}/cpu.weight`, '50'],
    [`${leaf}/cpu.max`, '50000 100000'],
    [`${leaf}/memory.max`, String(64 * 1024 * 1024)],
    [`${leaf}/memory.swap.max`, '0'],
    [`${leaf}/pids.max`, '1024'],
  ]);
  assert.equal(backend.procsFiles(paths), [`${leaf}/cgroup.procs`]);
});

test('v2 enables a controller once: a second container under the same agent only writes limits', async () => {
  const { fs, backend } = fakeHost();
  await backend.create(backend.pathsFor('wasmos/a/c1'), LIMITS);
  fs.writes.length = 0;
  await backend.create(backend.pathsFor('wasmos/a/c2'), { ...LIMITS, cfsQuota: false });
  assert.ok(fs.writes.every(([path]) => path.startsWith(`${MOUNT}/wasmos/a/c2/`)));
  assert.ok(fs.writes.some(([path, value]) => path.endsWith('cpu.max') && value === 'max 100000'));
});

test('v2 enables only offered controllers; a subsystem whose controller is missing fails create', async () => {
  const fs = new FakeCgroupFs(MOUNT, ['memory', 'io'], { cgroupKill: true, memoryPeak: true });
  const memoryOnly = createV2Backend(fs, MOUNT, [subsystemRegistry.memory]);
  await memoryOnly.create(memoryOnly.pathsFor('wasmos/a/c1'), LIMITS);
  assert.is(fs.files.get(`${MOUNT}/wasmos/a/cgroup.subtree_control`), 'memory');
  const everything = createV2Backend(fs, MOUNT, allSubsystems);
  try {
    await everything.create(everything.pathsFor('wasmos/a/c2'), LIMITS);
    assert.unreachable('cpu.weight does not exist without the cpu controller');
  } catch (error) {
    assert.match(String(error), /cpu\.weight/);
  }
});

test('v2 usage reads cpu.stat, memory.current, memory.peak and the oom_kill count', async () => {
  const { fs, backend } = fakeHost();
  const paths = backend.pathsFor('wasmos/a/c1');
  await backend.create(paths, LIMITS);
  const leaf = `${MOUNT}/wasmos/a/c1`;
  fs.files.set(`${leaf}/cpu.stat`, 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
  fs.files.set(`${leaf}/memory.current`, '1048576\n');
  fs.files.set(`${leaf}/memory.peak`, '4194304\n');
  fs.files.set(`${leaf}/memory.events`, 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n');
  fs.files.set(`${leaf}/pids.current`, '3\n');
  assert.equal(await backend.usage(paths), {
    cpuTimeMs: 2500,
    memoryBytes: 1048576,
    peakMemoryBytes: 4194304,
    oomKills: 1,
    pidsCurrent: 3,
  });
});

test('v2 usage falls back to memory.current where memory.peak does not exist (before Linux 5.19)', async () => {
  const { fs, backend } = fakeHost({ memoryPeak: false });
  const paths = backend.pathsFor('wasmos/a/c1');
  await backend.create(paths, LIMITS);
  fs.files.set(`${MOUNT}/wasmos/a/c1/memory.current`, '2048');
  const usage = await backend.usage(paths);
  assert.is(usage.peakMemoryBytes, 2048);
});

for (const cgroupKill of [true, false]) {
  test(`v2 kill ${cgroupKill ? 'writes cgroup.kill' : 'freezes, kills and thaws without cgroup.kill'}, then removes the cgroup`, async () => {
    const { fs, backend } = fakeHost({ cgroupKill });
    const paths = backend.pathsFor('wasmos/a/c1');
    await backend.create(paths, LIMITS);
    const child = sleeper();
    const exited = exitOf(child);
    await fs.write(`${MOUNT}/wasmos/a/c1/cgroup.procs`, String(child.pid));
    assert.equal(await backend.pids(paths), [child.pid]);
    fs.writes.length = 0;
    await backend.destroy(paths);
    assert.is(await exited, 'SIGKILL');
    const written = fs.writes.map(
      ([path, value]) => `${path.slice(path.lastIndexOf('/') + 1)}=${value}`,
    );
    // One round usually; more when a loaded host is slow to reap the killed process.
    if (cgroupKill) {
      assert.ok(written.length >= 1, 'cgroup.kill was written');
      assert.ok(
        written.every((each) => each === 'cgroup.kill=1'),
        written.join(' '),
      );
    } else {
      // Every freeze is followed by its thaw, so nothing is left frozen.
      assert.ok(written.length >= 2 && written.length % 2 === 0, written.join(' '));
      for (let round = 0; round < written.length; round += 2)
        assert.equal(written.slice(round, round + 2), ['cgroup.freeze=1', 'cgroup.freeze=0']);
    }
    assert.not.ok(await fs.exists(`${MOUNT}/wasmos/a/c1`));
    await backend.removeIfEmpty('wasmos/a');
    assert.not.ok(await fs.exists(`${MOUNT}/wasmos/a`));
  });
}

/** The host's real cgroup2 mount (on this CI machine kind: /sys/fs/cgroup/unified, no controllers). */
async function realUnifiedMount(): Promise<string> {
  const mounts = parseCgroupMounts(await readFile('/proc/self/mountinfo', 'utf8'));
  const unified = mounts.find((mount) => mount.fsType === 'cgroup2' && !mount.readOnly);
  assert.ok(unified, 'a cgroup2 mount exists on this host');
  return unified.mountPoint;
}

test('v2 on the real cgroup2 mount: join, usage from cpu.stat, freeze, cgroup.kill, removal', async () => {
  const mount = await realUnifiedMount();
  // No controllers are delegated there, so no subsystem limits: the core files are real.
  const backend = createV2Backend(nodeCgroupFs, mount, []);
  const name = `wasmos-test-${process.pid}`;
  const paths = backend.pathsFor(`${name}/c1`);
  const child = sleeper();
  const exited = exitOf(child);
  try {
    await backend.create(paths, LIMITS);
    for (const file of backend.procsFiles(paths)) await nodeCgroupFs.write(file, String(child.pid));
    assert.equal(await backend.pids(paths), [child.pid]);
    assert.ok((await backend.usage(paths)).cpuTimeMs >= 0);
    assert.ok(await freezeV2(nodeCgroupFs, `${mount}/${name}/c1`), 'the cgroup froze');
    await thawV2(nodeCgroupFs, `${mount}/${name}/c1`);
    await backend.destroy(paths);
    assert.is(await exited, 'SIGKILL');
    assert.not.ok(await nodeCgroupFs.exists(`${mount}/${name}/c1`));
  } finally {
    child.kill('SIGKILL');
    await backend.destroy(paths).catch(() => undefined);
    await backend.removeIfEmpty(name);
  }
  assert.not.ok(await nodeCgroupFs.exists(`${mount}/${name}`));
});

test.run();
