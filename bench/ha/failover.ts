/**
 * Failover time of `wasmos master --zk`: three real master processes on a local ZooKeeper; the
 * leader is killed with SIGKILL, and the time runs until one of the survivors serves as leader
 * (its /api/v1/state answers as leader and the other survivor names it). The killed master is
 * replaced by a fresh standby before the next kill. Prints every failover, the p50 and the max.
 *
 * `--mode offer` adds an agent process following the leader (`--master zk://...`) and a
 * framework that finds the leader through ZooKeeper and resubscribes with its framework id; the
 * time then runs until the first offer from the new leader reaches that framework.
 *
 * Each failover is also broken down (from the masters' and the agent's logs, stamped as they
 * arrive): ZooKeeper named a new leader (`elected`), its leading master started (`serving`),
 * the framework's subscription was taken (`framework`), the agent logged its registration
 * (`agent`: its line can arrive after the offer, then `-`).
 *
 *   npx tsc -p . && node dist/bench/ha/failover.js [--mode leader|offer] [--kills 10] [--session-timeout 4s] [--tick-ms 500]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../lib/units.js';
import {
  DEFAULT_LOCAL_ZOOKEEPER_LIMITS,
  startLocalZooKeeper,
} from '../../master/election/local-zookeeper.js';
import { LEADER_HEADER } from '../../master/server/leader-gate.js';
import { LeaderDetector } from '../../master/election/detector.js';
import {
  loadIdentity,
  loadMasterTrust,
  makeBenchKeys,
  type BenchKeys,
} from '../cluster/support/keys.js';
import { BenchFramework } from './framework.js';

const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const DEADLINE_MS = 120_000;

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    'session-timeout': { type: 'string', default: '4s' },
    'tick-ms': { type: 'string', default: '500' },
    mode: { type: 'string', default: 'leader' },
  },
});
const mode = values.mode;
if (mode !== 'leader' && mode !== 'offer') throw new Error('--mode is leader or offer');
const kills = Number(values.kills);
const sessionTimeout = parseDurationMs(values['session-timeout']);
if (!sessionTimeout.ok) throw new Error(`--session-timeout: ${sessionTimeout.error}`);
const tickMs = Number(values['tick-ms']);

/** Log lines the breakdown looks for, with when they arrived (performance.now()). */
const MILESTONES: Readonly<Record<string, string>> = {
  'elected: starting the leading master': 'elected',
  'leading master started': 'serving',
  'framework subscribed': 'framework',
  'registered with the master': 'agent',
};
const milestones: { readonly atMs: number; readonly what: string }[] = [];
/** WASMOS_BENCH_LOG=FILE: every child's log line, stamped, for a failover that needs explaining. */
const logFile = process.env['WASMOS_BENCH_LOG'];

/** Feeds a child's JSON log lines to `onLine` and records the milestones among them. */
function followLog(child: ChildProcess, onLine: (parsed: Record<string, unknown>) => void): void {
  createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not a log line
    }
    if (logFile) appendFileSync(logFile, `${performance.now().toFixed(0)} ${child.pid} ${line}\n`);
    const what = MILESTONES[String(parsed['message'])];
    if (what) milestones.push({ atMs: performance.now(), what });
    onLine(parsed);
  });
}

interface Master {
  readonly child: ChildProcess;
  readonly url: string;
}

function startMaster(dir: string, keys: BenchKeys, index: number, zkUrl: string): Promise<Master> {
  const child = spawn(
    process.execPath,
    [
      cli,
      'master',
      '--work-dir',
      join(dir, `master-${index}`),
      '--key',
      keys.masterKeyFile,
      '--trust',
      keys.trustDir,
      '--port',
      '0',
      '--zk',
      zkUrl,
      '--zk-session-timeout',
      values['session-timeout'],
      '--zk-credentials',
      join(dir, 'zk-credentials'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WASMOS_LOG_FORMAT: 'json' } },
  );
  return new Promise((resolve, reject) => {
    followLog(child, (parsed) => {
      if (parsed['message'] === 'master listening' && typeof parsed['url'] === 'string')
        resolve({ child, url: parsed['url'] });
    });
    child.once('exit', (code) => reject(new Error(`master ${index} exited with ${code}`)));
  });
}

async function state(url: string): Promise<{ leaderHeader: string | null } | undefined> {
  try {
    const response = await fetch(`${url}/api/v1/state`, { signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    if (response.status !== 200) return undefined;
    return { leaderHeader: response.headers.get(LEADER_HEADER) };
  } catch {
    return undefined;
  }
}

/** The master that serves as leader and that every other one names, if any. */
async function agreedLeader(masters: readonly Master[]): Promise<Master | undefined> {
  const answers = await Promise.all(masters.map((master) => state(master.url)));
  // Only a serving leader names itself: a standby's leader() never returns itself.
  const leader = masters.find((master, index) => answers[index]?.leaderHeader === master.url);
  if (!leader) return undefined;
  const agreed = answers.every((answer) => answer?.leaderHeader === leader.url);
  return agreed ? leader : undefined;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** `wasmos agent` following the leader through ZooKeeper. */
function startAgentProcess(dir: string, keys: BenchKeys, zkUrl: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      cli,
      'agent',
      '--master',
      zkUrl,
      '--work-dir',
      join(dir, 'agent'),
      '--key',
      keys.agentKeyFiles[0]!,
      '--trust',
      keys.trustDir,
      '--resources',
      'cpus:1;mem:256',
      '--runtimes',
      'wasm',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, WASMOS_LOG_FORMAT: 'json', WASMOS_LOG: 'info' },
    },
  );
}

/** Resolves with the framework's first offer from a leader other than `dead` (performance.now()). */
async function firstOfferFromNewLeader(
  framework: BenchFramework,
  detector: LeaderDetector,
  dead: string | undefined,
): Promise<number> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    const leader = detector.current();
    if (leader && leader.address !== dead) {
      const offeredAt = await Promise.race([
        framework.firstOffer(leader.address),
        new Promise<undefined>((resolve) =>
          setTimeout(() => resolve(undefined), deadline - Date.now()).unref(),
        ),
      ]);
      if (offeredAt !== undefined) return offeredAt;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no offer from a new leader within ${DEADLINE_MS} ms`);
}

const dir = await mkdtemp(join(tmpdir(), 'wasmos-ha-bench-'));
const zk = await startLocalZooKeeper({ limits: { ...DEFAULT_LOCAL_ZOOKEEPER_LIMITS, tickMs } });
const masters: Master[] = [];
const rootPath = '/wasmos-bench';
const detector = new LeaderDetector({ servers: zk.servers, rootPath });
let agent: ChildProcess | undefined;
let framework: BenchFramework | undefined;
try {
  // One agent key when an agent takes part (the offer mode); the framework key goes unused otherwise.
  const keys = await makeBenchKeys(dir, mode === 'offer' ? 1 : 0);
  await writeFile(join(dir, 'zk-credentials'), 'masters:bench\n', { mode: 0o600 });
  const zkUrl = `zk://${zk.servers}${rootPath}`;
  if (mode === 'offer') {
    framework = new BenchFramework(
      await loadIdentity(keys.frameworkKeyFile),
      await loadMasterTrust(keys.trustDir),
    );
  }
  let started = 0;
  for (; started < 3; started++) masters.push(await startMaster(dir, keys, started, zkUrl));
  detector.start();
  if (framework) {
    agent = startAgentProcess(dir, keys, zkUrl);
    followLog(agent, () => undefined);
    await firstOfferFromNewLeader(framework, detector, undefined);
  }
  const failoversMs: number[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const leader = await until(() => agreedLeader(masters), 'leader all agree on');
    const killedAtMs = performance.now();
    leader.child.kill('SIGKILL');
    masters.splice(masters.indexOf(leader), 1);
    const doneAtMs = framework
      ? await firstOfferFromNewLeader(framework, detector, leader.url)
      : await until(() => agreedLeader(masters), 'new leader').then(() => performance.now());
    const tookMs = doneAtMs - killedAtMs;
    failoversMs.push(tookMs);
    // The first of each milestone after the kill, in ms since it.
    const after = new Map<string, number>();
    for (const { atMs, what } of milestones)
      if (atMs >= killedAtMs && !after.has(what)) after.set(what, atMs - killedAtMs);
    const breakdown = ['elected', 'serving', 'framework', 'agent']
      .map((what) => `${what} ${after.get(what)?.toFixed(0) ?? '-'}`)
      .join(', ');
    console.log(
      `kill ${kill + 1}: ${framework ? 'first offer from the new leader' : 'new leader'} after ${tookMs.toFixed(0)} ms (${breakdown})`,
    );
    masters.push(await startMaster(dir, keys, started++, zkUrl));
  }
  const sorted = [...failoversMs].sort((left, right) => left - right);
  console.log(
    `${mode === 'offer' ? 'kill to first offer' : 'kill to new leader'}, ` +
      `session timeout ${sessionTimeout.value} ms, ZooKeeper tick ${tickMs} ms, ${kills} kills: ` +
      `p50 ${percentile(sorted, 0.5).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms ` +
      `(target < 5000 ms with a 4 s session timeout)`,
  );
} finally {
  framework?.close();
  agent?.kill('SIGKILL');
  await detector.stop();
  for (const master of masters) master.child.kill('SIGKILL');
  await zk.stop();
  await rm(dir, { recursive: true, force: true });
}
