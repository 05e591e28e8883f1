import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linuxCapabilities } from '../../../agent/containerizer/linux/capabilities.js';
import {
  chooseCgroupLayout,
  parseCgroupMounts,
} from '../../../agent/containerizer/linux/cgroups/mountinfo.js';
import {
  parseKeyedCounters,
  parsePids,
  parseSingleNumber,
} from '../../../agent/containerizer/linux/cgroups/stats.js';
import {
  cfsQuotaUs,
  cpuShares,
  cpuWeight,
} from '../../../agent/containerizer/linux/cgroups/subsystems/cpu.js';
import { memoryLimitBytes } from '../../../agent/containerizer/linux/cgroups/subsystems/memory.js';
import { checkContainerId } from '../../../agent/containerizer/linux/container-id.js';
import {
  buildLaunchCommand,
  withTaskEnvironment,
} from '../../../agent/containerizer/linux/namespaces/launch.js';
import { startTicksFromStat } from '../../../agent/containerizer/linux/process-identity.js';
import {
  parseCheckpointState,
  parseTermination,
} from '../../../agent/containerizer/linux/run-records.js';
import { classifyEnd, type ObservedEnd } from '../../../agent/containerizer/linux/termination.js';
import { findUser } from '../../../agent/containerizer/linux/users.js';

const HYBRID = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;

const SYSTEMD_V1 = `25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
26 20 0:23 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
27 20 0:24 / /sys/fs/cgroup/pids ro,nosuid shared:11 - cgroup cgroup rw,pids`;

const PURE_V2 = `29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
40 23 0:30 / /mnt/with\\040space rw - ext4 /dev/sda1 rw`;

test('mountinfo: a hybrid host runs v1, each controller from its own hierarchy', () => {
  assert.equal(chooseCgroupLayout(parseCgroupMounts(HYBRID)), {
    version: 'v1',
    hierarchies: {
      cpu: '/sys/fs/cgroup/cpu',
      cpuacct: '/sys/fs/cgroup/cpuacct',
      memory: '/sys/fs/cgroup/memory',
      pids: '/sys/fs/cgroup/pids',
      freezer: '/sys/fs/cgroup/freezer',
    },
  });
});

test('mountinfo: co-mounted cpu,cpuacct share a directory, read-only hierarchies are left out', () => {
  const layout = chooseCgroupLayout(parseCgroupMounts(SYSTEMD_V1));
  assert.equal(layout, {
    version: 'v1',
    hierarchies: {
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      memory: '/sys/fs/cgroup/memory',
    },
  });
});

test('mountinfo: a unified-only host runs v2; no cgroup mount means no layout', () => {
  assert.equal(chooseCgroupLayout(parseCgroupMounts(PURE_V2)), {
    version: 'v2',
    mountPoint: '/sys/fs/cgroup',
  });
  assert.is(
    chooseCgroupLayout(parseCgroupMounts('40 23 0:30 / /mnt rw - ext4 /dev/sda1 rw')),
    undefined,
  );
  assert.is(parseCgroupMounts('garbage\n\n1 2 3').length, 0);
});

test('cgroup files parse; junk lines are ignored', () => {
  assert.equal(
    [...parseKeyedCounters('oom 1\noom_kill 2\nbad\nx y z\n')],
    [
      ['oom', 1],
      ['oom_kill', 2],
    ],
  );
  assert.is(parseSingleNumber('max\n'), Infinity);
  assert.is(parseSingleNumber('123\n'), 123);
  assert.is(parseSingleNumber(''), undefined);
  assert.equal(parsePids('12\n34\n\n'), [12, 34]);
});

test('cpu shares, weight and quota follow cpus, within the kernel ranges', () => {
  assert.is(cpuShares(1), 1024);
  assert.is(cpuShares(0.001), 2);
  assert.is(cpuWeight(0.5), 50);
  assert.is(cpuWeight(0.001), 1);
  assert.is(cpuWeight(1000), 10_000);
  assert.is(cfsQuotaUs(0.5), 50_000);
  assert.is(cfsQuotaUs(0.001), 1_000);
  assert.is(memoryLimitBytes(1024), 32 * 1024 * 1024);
});

test('container ids that could escape a directory or a cgroup are refused', () => {
  for (const bad of ['', '..', '../x', 'a/b', '.hidden', '-flag', 'x'.repeat(129), 'sp ace']) {
    assert.throws(() => checkContainerId(bad), /container id/);
  }
  checkContainerId('task-1.retry_2');
});

test('users: names and numeric ids resolve from passwd', () => {
  const passwd =
    'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbroken';
  assert.equal(findUser(passwd, 'nobody'), { name: 'nobody', uid: 65534, gid: 65534 });
  assert.equal(findUser(passwd, '0'), { name: 'root', uid: 0, gid: 0 });
  assert.is(findUser(passwd, 'broken'), undefined);
});

test('the launch command joins every cgroup before unshare, which runs setpriv, which runs the task', () => {
  const launch = buildLaunchCommand({
    tools: {
      shPath: '/bin/sh',
      unsharePath: '/usr/bin/unshare',
      setprivPath: '/usr/bin/setpriv',
      mountPath: '/usr/bin/mount',
      envPath: '/usr/bin/env',
    },
    procsFiles: ['/cg/memory/x/cgroup.procs', '/cg/pids/x/cgroup.procs'],
    network: 'none',
    filesystem: 'read-only',
    sandboxDir: '/sb',
    scratchDirs: ['/tmp', '/dev/shm'],
    uid: 65534,
    gid: 65534,
    command: {
      shell: false,
      value: '/bin/echo',
      arguments: ['echo', 'a b'],
      environment: { K: 'v' },
    },
  });
  assert.is(launch.file, '/bin/sh');
  const args = launch.args;
  const unshareAt = args.indexOf('/usr/bin/unshare');
  const setprivAt = args.indexOf('/usr/bin/setpriv');
  assert.ok(args.indexOf('/cg/pids/x/cgroup.procs') < unshareAt);
  assert.ok(unshareAt < setprivAt);
  assert.ok(args.slice(unshareAt, setprivAt).includes('--net'));
  // The filesystem step runs between unshare and setpriv: mounts are made as root, inside.
  const filesystem = args.slice(args.indexOf('wasmos-filesystem', unshareAt), setprivAt);
  assert.equal(filesystem.slice(1), [
    '/usr/bin/env',
    '/usr/bin/mount',
    '/sb',
    'read-only',
    '/tmp',
    '/dev/shm',
    '--',
  ]);
  assert.ok(args.includes('--reuid=65534') && args.includes('--no-new-privs'));
  // The task's environment is set by env -i after setpriv; every step before runs with none.
  assert.equal(args.slice(setprivAt).slice(-6), [
    '/usr/bin/env',
    '-i',
    '--',
    'K=v',
    '/bin/echo',
    'a b',
  ]);
  assert.equal(launch.env, {});
  const host = buildLaunchCommand({
    tools: {
      shPath: '/bin/sh',
      unsharePath: '/u',
      setprivPath: '/s',
      mountPath: '/m',
      envPath: '/e',
    },
    procsFiles: ['/p'],
    network: 'host',
    filesystem: 'writable',
    sandboxDir: '/sb',
    scratchDirs: [],
    uid: 1,
    gid: 1,
    command: { shell: true, value: 'echo hi', arguments: [], environment: { PWD: '/w' } },
  });
  assert.not.ok(host.args.includes('--net'));
  assert.ok(host.args.includes('writable'));
  assert.equal(host.args.slice(-7), ['/e', '-i', '--', 'PWD=/w', '/bin/sh', '-c', 'echo hi']);
  assert.equal(host.env, {});
});

test('env -i gives the task its environment: names that look like options stay names, and a program path with = is started by a shell', () => {
  const tools = { envPath: '/usr/bin/env', shPath: '/bin/sh' };
  assert.equal(withTaskEnvironment(tools, { '--chdir': '/', A: 'b=c' }, ['/bin/true', 'x']), [
    '/usr/bin/env',
    '-i',
    '--',
    '--chdir=/',
    'A=b=c',
    '/bin/true',
    'x',
  ]);
  assert.equal(withTaskEnvironment(tools, {}, ['/opt/a=b/run', 'x']), [
    '/usr/bin/env',
    '-i',
    '--',
    '/bin/sh',
    '-c',
    'exec "$0" "$@"',
    '/opt/a=b/run',
    'x',
  ]);
  // What env itself makes of them.
  const printed = spawnSync(
    '/usr/bin/env',
    withTaskEnvironment(tools, { '-S': 'x', A: 'b=c' }, ['/usr/bin/printenv']).slice(1),
    { encoding: 'utf8' },
  );
  assert.is(printed.stdout, '-S=x\nA=b=c\n');
});

const END: ObservedEnd = {
  joined: true,
  exitCode: 0,
  signal: null,
  oomKills: 0,
  killRequested: false,
  memLimitBytes: 64 * 1024 * 1024,
  durationMs: 10,
  cpuTimeMs: 1,
  peakMemoryBytes: 2,
};

test('an end is named: OOM before kill, kill before exit, never-started as launch_failed', () => {
  assert.is(classifyEnd(END).reason, 'exited');
  assert.is(
    classifyEnd({ ...END, exitCode: null, signal: 'SIGKILL', oomKills: 1, killRequested: true })
      .reason,
    'memory_limit',
  );
  const killed = classifyEnd({ ...END, exitCode: null, signal: 'SIGKILL', killRequested: true });
  assert.is(killed.reason, 'killed');
  assert.is(killed.signal, 'SIGKILL');
  assert.is(killed.exitCode, null);
  const failed = classifyEnd({ ...END, joined: false, exitCode: 2 });
  assert.is(failed.reason, 'launch_failed');
  assert.is(failed.exitCode, null);
  assert.match(classifyEnd({ ...END, exitCode: null, signal: 'SIGSEGV' }).message, /SIGSEGV/);
});

test('records read from disk are checked: malformed ones are refused', () => {
  const termination = classifyEnd(END);
  assert.equal(parseTermination(JSON.parse(JSON.stringify(termination))), termination);
  assert.is(parseTermination({ ...termination, reason: 'bogus' }), undefined);
  assert.is(parseTermination({ ...termination, exitCode: 1.5 }), undefined);
  assert.is(
    parseCheckpointState({
      runDir: '/r',
      supervisor: { pid: 1, startTicks: '5' },
      cgroup: { version: 'v3' },
    }),
    undefined,
  );
  assert.is(
    parseCheckpointState({
      runDir: '/r',
      supervisor: { pid: 1, startTicks: '5' },
      cgroup: { version: 'v1', dirs: { devices: '/x' } },
    }),
    undefined,
  );
  assert.ok(
    parseCheckpointState({
      runDir: '/r',
      supervisor: { pid: 1, startTicks: '5' },
      cgroup: { version: 'v2', dir: '/x' },
    }),
  );
});

test('a process start time is read past a command name holding spaces and parentheses', () => {
  const fields = Array.from({ length: 50 }, (_value, index) => String(index + 3));
  assert.is(startTicksFromStat(`42 (a b) c) ${fields.join(' ')}`), '22');
  assert.is(startTicksFromStat('42 (x) S'), undefined);
});

test('capabilities explain why a host cannot isolate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-caps-'));
  try {
    const mountinfo = join(dir, 'mountinfo');
    await writeFile(mountinfo, '40 23 0:30 / /mnt rw - ext4 /dev/sda1 rw\n');
    const caps = await linuxCapabilities({
      uid: 1000,
      mountinfoPath: mountinfo,
      searchPath: [dir],
    });
    assert.is(caps.ok, false);
    if (caps.ok) return;
    assert.ok(caps.reasons.includes('not running as root (uid 1000)'));
    assert.ok(caps.reasons.includes('unshare (util-linux) is not installed'));
    assert.ok(caps.reasons.includes('no cgroup filesystem is mounted'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
