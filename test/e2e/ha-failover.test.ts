/**
 * The high-availability issue's own test, with real processes on loopback: a three-node
 * ZooKeeper ensemble, three `wasmos master --zk` processes, two `wasmos agent` processes (one
 * finding the leader through ZooKeeper, one given the list of master URLs), and a signed-CBOR
 * framework launching a steady stream of tasks that follows the leader (through ZooKeeper) and
 * resubscribes with its framework id whenever its subscription ends (a kill, or a leader that
 * lost its lease on a loaded machine and stepped down). The leader is killed with kill -9, then the new leader
 * too. The component is uploaded once, to the first leader: masters replicate it, so the later
 * leaders serve it. Every task whose launch a leader accepted reaches exactly one terminal
 * state, none that ran is reported lost or gone, a launch the dying leader never sent reconciles
 * to TASK_GONE (as in Mesos: the task's agent is registered and does not have it), and the
 * agents' update logs end fully acknowledged.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findLeader } from '../../cli/client/leader.js';
import { parseZkUrl } from '../../lib/zookeeper/url.js';
import { terminalTaskStates, type TaskStatus } from '../../protocol/index.js';
import { ZkEnsemble } from '../support/zookeeper.js';
import { HaMasterProcess } from '../master/server/ha/master-process.js';
import { ReconcilingFramework } from '../master/server/ha/reconciling-framework.js';
import { startHaMasters } from './support/ha-masters.js';
import { makeClusterKeys, type ClusterKeys } from './support/keys.js';
import { wasmTaskOn } from './support/tasks.js';
import { until } from '../support/until.js';
import { uploadProgram } from '../support/programs.js';
import {
  repoRoot,
  startAgentProcess,
  unacknowledgedOnDisk,
  type CliProcess,
} from './support/processes.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const REGISTERED = 'registered with the master';
/** Generous: JVMs, three masters, two agents and a session timeout on a loaded machine. */
const DEADLINE_MS = 120_000;
/** The session timeout the issue asks failover to be measured with (the lease is half). */
const SESSION_TIMEOUT = '4s';
/** Tasks launched after each failover before the next kill (the stream keeps going). */
const TASKS_PER_TERM = 3;

let zk: ZkEnsemble;
let keys: ClusterKeys;
const masters: HaMasterProcess[] = [];
const agents: CliProcess[] = [];

test.before(async () => {
  zk = await ZkEnsemble.start(3);
  keys = await makeClusterKeys(2);
});

test.after(async () => {
  await Promise.all(agents.map((agent) => agent.stop()));
  await Promise.all(masters.map((master) => master.kill()));
  await zk.close();
  await rm(keys.dir, { recursive: true, force: true });
});

/** The leader ZooKeeper names, once it is not `dead` and it serves (health answers). */
async function serving(zkUrl: string, dead: ReadonlySet<string>): Promise<string> {
  const zkParsed = parseZkUrl(zkUrl);
  assert.ok(zkParsed.ok);
  return until(
    async () => {
      const leader = await findLeader(zkParsed.value).catch(() => undefined);
      if (!leader || dead.has(leader.address)) return undefined;
      const health = await fetch(`${leader.address}/health`, {
        signal: AbortSignal.timeout(5000),
      }).catch(() => undefined);
      if (health?.status !== 200) return undefined;
      const body = (await health.json()) as { leading?: boolean };
      return body.leading !== false && health.headers.get('wasmos-leader') === leader.address
        ? leader.address
        : undefined;
    },
    'a serving leader named by ZooKeeper',
    DEADLINE_MS,
  );
}

test('kill -9 of the leader, twice: tasks reach one terminal state each, no acknowledgement lost', async () => {
  const started = await startHaMasters(keys, zk, {
    names: ['m0', 'm1', 'm2'],
    root: 'wasmos-ha',
    sessionTimeout: SESSION_TIMEOUT,
  });
  const zkUrl = started.zkUrl;
  masters.push(...started.masters);
  const dead = new Set<string>();
  let leader = await serving(zkUrl, dead);
  const digest = await uploadProgram(leader, 'hello');
  const agentDirs = [join(keys.dir, 'agent0'), join(keys.dir, 'agent1')];
  agents.push(
    startAgentProcess(keys, 0, zkUrl, agentDirs[0]!),
    startAgentProcess(keys, 1, masters.map((master) => master.url).join(','), agentDirs[1]!),
  );
  const framework = new ReconcilingFramework(leader, keys.framework, keys.masterTrust);
  const stopFollowing = framework.follow(() => serving(zkUrl, dead));
  let stopping = false;
  try {
    const submitted = new Map<string, number>();
    /** The agent each task was launched on: reconciliation names it, as a framework would. */
    const agentOf = new Map<string, string>();
    let sequence = 0;
    let term = 0;
    // The steady stream: one task per fresh offer; a task counts as submitted once a leader
    // accepted its launch (202). A launch that failed (leader gone) is not retried under the
    // same id.
    const stream = (async () => {
      while (!stopping) {
        const taskId = `task-${sequence++}`;
        const launchedIn = term;
        try {
          await framework.launch((offer) => {
            agentOf.set(taskId, offer.agent_id.value);
            return wasmTaskOn(offer, taskId, { cpus: 0.25, memMiB: 32 }, { digest });
          });
          submitted.set(taskId, launchedIn);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    })();
    const launchedInTerm = (wanted: number) =>
      [...submitted.values()].filter((each) => each === wanted).length >= TASKS_PER_TERM;
    await until(() => launchedInTerm(0), 'tasks launched by the first leader', DEADLINE_MS);
    // Updates of the tasks launched just before the kill stay unacknowledged, so the agents
    // must send them again to the next leader.
    // (An agent sends a task's next update once the previous one is acknowledged, so the
    // updates before TASK_FINISHED are acknowledged here by hand.)
    framework.autoAcknowledge = false;
    const heldFrom = framework.updates.length;
    await until(
      async () => {
        const arrived = framework.updates.slice(heldFrom);
        for (const status of arrived)
          if (!terminalTaskStates.has(status.state) && status.uuid)
            await framework.acknowledge(status);
        return arrived.some((status) => status.state === 'TASK_FINISHED' && status.uuid);
      },
      'a TASK_FINISHED held unacknowledged',
      DEADLINE_MS,
    );

    for (const round of [1, 2]) {
      // The leader of now: a lease lost under load may have moved it since.
      leader = await serving(zkUrl, dead);
      const killed = masters.find((master) => master.url === leader)!;
      const killedAt = Date.now();
      await killed.kill();
      dead.add(leader);
      leader = await serving(zkUrl, dead);
      console.log(
        `kill ${round}: ${leader} serves ${Date.now() - killedAt} ms later (session ${SESSION_TIMEOUT})`,
      );
      framework.autoAcknowledge = true;
      term = round;
      await until(() => launchedInTerm(round), `tasks launched after kill ${round}`, DEADLINE_MS);
    }
    stopping = true;
    await stream;
    leader = await serving(zkUrl, dead);

    // Both agents follow: the one on zk:// and the one given the list (its first leader, to
    // which a standby redirected it, is dead; it goes back to the list).
    for (const [index, agent] of agents.entries())
      await agent.waitForLog(
        (line) => line['message'] === REGISTERED && line['master'] === leader,
        `agent ${index} to register with the third leader`,
      );
    // The CLI finds the third leader both through ZooKeeper and from the list of masters.
    const agentIds = agents.map((agent) =>
      String(agent.lines.findLast((line) => line['message'] === REGISTERED)?.['agentId']),
    );
    for (const where of [zkUrl, masters.map((master) => master.url).join(',')]) {
      const { stdout } = await run(process.execPath, [cli, 'agents', '--master', where], {
        timeout: 60_000,
      });
      for (const agentId of agentIds) assert.ok(stdout.includes(agentId), `${where}: ${stdout}`);
    }

    // Updates held at a crash arrive again; anything a leader never launched is reconciled.
    const ids = [...submitted.keys()];
    // A launch the dying leader accepted but never sent to an agent: the next leader does not
    // know the task (the registry holds agents and frameworks, not tasks, as in Mesos), and
    // once the task's agent re-registered without it, reconciliation answers TASK_GONE.
    const settled = (state: TaskStatus['state']) => terminalTaskStates.has(state);
    const terminalStates = (taskId: string) =>
      new Set(
        framework
          .updatesOf(taskId)
          .filter((status) => settled(status.state))
          .map((status) => status.state),
      );
    await until(
      async () => {
        const open = ids.filter((taskId) => terminalStates(taskId).size === 0);
        if (open.length === 0) return true;
        await framework.reconcile(open.map((taskId) => ({ taskId, agentId: agentOf.get(taskId) })));
        await new Promise((resolve) => setTimeout(resolve, 500));
        return false;
      },
      'a terminal state for every submitted task',
      DEADLINE_MS,
    );
    for (const taskId of ids) {
      const states = [...terminalStates(taskId)];
      assert.is(states.length, 1, `${taskId}: ${states.join(', ')}`);
    }
    const finished = ids.filter((taskId) => terminalStates(taskId).has('TASK_FINISHED'));
    console.log(
      `${ids.length} tasks submitted over three leaders, ${finished.length} finished; ` +
        `others: ${ids
          .filter((taskId) => !finished.includes(taskId))
          .map((taskId) => {
            const last = framework.updatesOf(taskId).at(-1);
            return `${taskId} ${last?.state ?? ''} ${last?.message ?? ''}`;
          })
          .join(', ')}`,
    );
    // Only a launch into a leader's death may end otherwise, and none of these ran: never sent
    // to an agent (TASK_GONE by reconciliation), or refused by the master (TASK_ERROR,
    // TASK_DROPPED: an offer of the dead leader, or one without room, as this framework
    // launches on any offer). A component is never missing: every leader has it.
    const neverRan = (state: string, reason: string | undefined) =>
      (state === 'TASK_GONE' && reason === 'REASON_RECONCILIATION') ||
      state === 'TASK_ERROR' ||
      state === 'TASK_DROPPED';
    for (const taskId of ids) {
      if (finished.includes(taskId)) continue;
      const updates = framework.updatesOf(taskId);
      assert.ok(
        updates.every((status) => neverRan(status.state, status.reason)),
        `${taskId} ran but did not finish: ${updates.map((status) => status.state).join(', ')}`,
      );
    }
    assert.ok(finished.length >= TASKS_PER_TERM, `${finished.length} finished`);
    // Tasks launched by the second and third leaders ran the component uploaded to the first.
    for (const round of [1, 2])
      assert.ok(
        finished.some((taskId) => submitted.get(taskId) === round),
        `a task of leader ${round + 1} finished`,
      );
    for (const [index, dir] of agentDirs.entries()) {
      await until(
        async () => (await unacknowledgedOnDisk(dir)) === 0,
        `agent ${index}'s update log fully acknowledged`,
        DEADLINE_MS,
      );
    }
    for (const agent of agents) assert.ok(agent.running, 'the agents keep running');
    if (process.env['WASMOS_TEST_LOG']) {
      for (const [index, agent] of agents.entries())
        for (const line of agent.lines) console.log(`agent ${index}: ${JSON.stringify(line)}`);
      for (const [taskId, updates] of framework.updates.entries())
        console.log(
          `update ${updates.task_id.value} ${updates.state} ${updates.message ?? ''} ${taskId}`,
        );
    }
  } catch (error) {
    const byTask = new Map<string, string[]>();
    for (const status of framework.updates)
      byTask.set(status.task_id.value, [
        ...(byTask.get(status.task_id.value) ?? []),
        `${status.state}${status.reason ? `/${status.reason}` : ''}${status.uuid ? '' : '(no uuid)'} ${status.message ?? ''}`,
      ]);
    console.error(`updates: ${JSON.stringify([...byTask])}`);
    for (const [index, agent] of agents.entries())
      console.error(`agent ${index} log:\n${agent.output()}`);
    for (const master of masters)
      console.error(`${master.url}:\n${master.messages.slice(-20).join('\n')}`);
    throw error;
  } finally {
    // The stream and the follower stop on a failure too, or they would keep the file running.
    stopping = true;
    void stopFollowing();
    framework.close();
  }
});

test.run();
