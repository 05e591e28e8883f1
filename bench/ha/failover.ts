/**
 * Failover time of `wasmos master --zk`: three real master processes on a local ZooKeeper; the
 * leader is killed with SIGKILL, and the time runs until one of the survivors serves as leader
 * (its /api/v1/state answers as leader and the other survivor names it). The killed master is
 * replaced by a fresh standby before the next kill. Prints every failover, the p50 and the max.
 *
 *   npx tsc -p . && node dist/bench/ha/failover.js [--kills 10] [--session-timeout 4s] [--tick-ms 500]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../lib/units.js';
import {
  DEFAULT_LOCAL_ZOOKEEPER_LIMITS,
  startLocalZooKeeper,
} from '../../master/election/local-zookeeper.js';
import { LEADER_HEADER } from '../../master/server/leader-gate.js';
import { generateIdentity, writeKeyPair } from '../../protocol/index.js';

const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const DEADLINE_MS = 120_000;

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    'session-timeout': { type: 'string', default: '4s' },
    'tick-ms': { type: 'string', default: '500' },
  },
});
const kills = Number(values.kills);
const sessionTimeout = parseDurationMs(values['session-timeout']);
if (!sessionTimeout.ok) throw new Error(`--session-timeout: ${sessionTimeout.error}`);
const tickMs = Number(values['tick-ms']);

interface Master {
  readonly child: ChildProcess;
  readonly url: string;
}

function startMaster(dir: string, index: number, zkUrl: string): Promise<Master> {
  const child = spawn(
    process.execPath,
    [
      cli,
      'master',
      '--work-dir',
      join(dir, `master-${index}`),
      '--key',
      join(dir, 'keys', 'master.key'),
      '--trust',
      join(dir, 'trust'),
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
    let pending = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as { message?: string; url?: string };
          if (parsed.message === 'master listening' && parsed.url)
            resolve({ child, url: parsed.url });
        } catch {
          // not a log line
        }
      }
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

const dir = await mkdtemp(join(tmpdir(), 'wasmos-ha-bench-'));
const zk = await startLocalZooKeeper({ limits: { ...DEFAULT_LOCAL_ZOOKEEPER_LIMITS, tickMs } });
const masters: Master[] = [];
try {
  const identity = generateIdentity();
  const written = await writeKeyPair(join(dir, 'keys'), 'master', 'master', identity);
  const trusted = await writeKeyPair(join(dir, 'trust'), 'master', 'master', identity);
  if (!written.ok || !trusted.ok) throw new Error('cannot write the master key');
  await writeFile(join(dir, 'zk-credentials'), 'masters:bench\n', { mode: 0o600 });
  const zkUrl = `zk://${zk.servers}/wasmos-bench`;
  let started = 0;
  for (; started < 3; started++) masters.push(await startMaster(dir, started, zkUrl));
  const failoversMs: number[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const leader = await until(() => agreedLeader(masters), 'leader all agree on');
    const killedAtMs = performance.now();
    leader.child.kill('SIGKILL');
    masters.splice(masters.indexOf(leader), 1);
    await until(() => agreedLeader(masters), 'new leader');
    const tookMs = performance.now() - killedAtMs;
    failoversMs.push(tookMs);
    console.log(`kill ${kill + 1}: new leader after ${tookMs.toFixed(0)} ms`);
    masters.push(await startMaster(dir, started++, zkUrl));
  }
  const sorted = [...failoversMs].sort((left, right) => left - right);
  console.log(
    `session timeout ${sessionTimeout.value} ms, ZooKeeper tick ${tickMs} ms, ${kills} kills: ` +
      `p50 ${percentile(sorted, 0.5).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms ` +
      `(target < 5000 ms with a 4 s session timeout)`,
  );
} finally {
  for (const master of masters) master.child.kill('SIGKILL');
  await zk.stop();
  await rm(dir, { recursive: true, force: true });
}
