/**
 * The conformance suite every containerizer runs (Hono's shared router cases, for our
 * Containerizer interface): launch/wait/exit code, kill with grace then force, usage, unknown-id
 * tolerance, recover (re-attach, or report lost where containers cannot outlive the agent).
 *
 *   runContainerizerSuite({ name: 'linux', make: makeLinuxUnderTest, survivesAgentRestart: true });
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type {
  Containerizer,
  LaunchSpec,
  RecoveredContainers,
} from '../../agent/containerizer/containerizer.js';
import { WasmosError } from '../../lib/errors.js';

/** Behaviours the suite needs a task for; each runtime says how to express them. */
export type SuiteTaskKind =
  /** Exits by itself with code 0 soon after it starts. */
  | 'exit-zero'
  /** Exits by itself with code 3. */
  | 'exit-three'
  /** Runs until killed, and ends promptly when asked to stop. */
  | 'run-until-stopped'
  /** Runs until killed and ignores polite stop requests (only the forced kill ends it). */
  | 'ignore-stop'
  /** Runs for about a second, then exits 0 (long enough to outlive a restart). */
  | 'exit-after-a-second';

export type SuiteTask = Omit<LaunchSpec, 'containerId' | 'taskId' | 'sandboxDir'>;

export interface ContainerizerUnderTest {
  readonly containerizer: Containerizer;
  task(kind: SuiteTaskKind): SuiteTask;
  /** A fresh containerizer over the same state, as an agent restarted in place would make. */
  restart(): Promise<Containerizer>;
  /** Kills whatever the case left running and releases everything. */
  close(): Promise<void>;
}

export interface SuiteOptions {
  readonly name: string;
  readonly make: () => Promise<ContainerizerUnderTest>;
  /**
   * Whether containers outlive the agent process (Linux: yes, through their
   * supervisors; wasm: no, tasks run inside the agent). The recover cases hold
   * a runtime to what it promises: re-attach and report the real end, or
   * report every checkpointed container terminal as `lost`.
   */
  readonly survivesAgentRestart: boolean;
}

const GRACE_MS = 3_000;
const SHORT_GRACE_MS = 300;

interface CaseContext {
  readonly under: ContainerizerUnderTest;
  readonly survivesAgentRestart: boolean;
  readonly c: Containerizer;
  launch(containerId: string, kind: SuiteTaskKind): Promise<Readonly<Record<string, unknown>>>;
}

type Case = (context: CaseContext) => Promise<void>;

const cases: Record<string, Case> = {
  'launch resolves once running and wait reports exit code 0': async ({ c, launch }) => {
    await launch('ok', 'exit-zero');
    const termination = await c.wait('ok');
    assert.is(termination.reason, 'exited');
    assert.is(termination.exitCode, 0);
    assert.ok(termination.durationMs >= 0);
  },
  'wait reports a non-zero exit code as exited with that code': async ({ c, launch }) => {
    await launch('three', 'exit-three');
    const termination = await c.wait('three');
    assert.is(termination.reason, 'exited');
    assert.is(termination.exitCode, 3);
  },
  'wait may be called again and resolves with the same termination': async ({ c, launch }) => {
    await launch('twice', 'exit-zero');
    const first = await c.wait('twice');
    const second = await c.wait('twice');
    assert.equal(second, first);
  },
  'kill stops a task that honours the stop request and wait reports killed': async ({
    c,
    launch,
  }) => {
    await launch('polite', 'run-until-stopped');
    await c.kill('polite', GRACE_MS);
    const termination = await c.wait('polite');
    assert.is(termination.reason, 'killed');
  },
  'kill forces a task that ignores the stop request once the grace period is over': async ({
    c,
    launch,
  }) => {
    await launch('stubborn', 'ignore-stop');
    await c.kill('stubborn', SHORT_GRACE_MS);
    const termination = await c.wait('stubborn');
    assert.is(termination.reason, 'killed');
    assert.is(termination.exitCode, null);
  },
  'kill of a container that already ended resolves': async ({ c, launch }) => {
    await launch('done', 'exit-zero');
    await c.wait('done');
    await c.kill('done', SHORT_GRACE_MS);
    assert.is((await c.wait('done')).reason, 'exited');
  },
  'usage reports a running container': async ({ c, launch }) => {
    await launch('used', 'run-until-stopped');
    const usage = await c.usage('used');
    assert.ok(usage, 'usage of a running container');
    assert.ok(usage.cpuTimeMs >= 0);
    assert.ok(usage.peakMemoryBytes >= usage.memoryBytes);
    await c.kill('used', SHORT_GRACE_MS);
  },
  'unknown ids: usage is undefined, kill resolves, wait rejects with a typed error': async ({
    c,
  }) => {
    assert.is(await c.usage('never-launched'), undefined);
    await c.kill('never-launched', SHORT_GRACE_MS);
    try {
      await c.wait('never-launched');
      assert.unreachable('wait of an unknown id must reject');
    } catch (error) {
      assert.instance(error, WasmosError);
      assert.is((error as WasmosError).code, 'unknown_container');
    }
  },
  'launch rejects a second container with the same id': async ({ c, launch }) => {
    await launch('dup', 'run-until-stopped');
    try {
      await launch('dup', 'run-until-stopped');
      assert.unreachable('a duplicate launch must reject');
    } catch (error) {
      assert.instance(error, WasmosError);
    }
    await c.kill('dup', SHORT_GRACE_MS);
  },
  'recover re-attaches to a running container, or reports it lost if it cannot survive': async ({
    under,
    launch,
    survivesAgentRestart,
  }) => {
    const task = under.task('exit-after-a-second');
    const state = await launch('survivor', 'exit-after-a-second');
    const restarted = await under.restart();
    const recovered = await restarted.recover([
      { containerId: 'survivor', taskId: 'task-survivor', runtime: task.runtime, state },
    ]);
    if (!survivesAgentRestart) {
      assertReportedLost(recovered, 'survivor');
      return;
    }
    assert.equal(recovered.running, ['survivor']);
    assert.equal(recovered.terminated, []);
    const termination = await restarted.wait('survivor');
    assert.is(termination.reason, 'exited');
    assert.is(termination.exitCode, 0);
  },
  'recover reports a container that ended while the agent was away': async ({
    under,
    c,
    launch,
    survivesAgentRestart,
  }) => {
    const task = under.task('exit-three');
    const state = await launch('ended', 'exit-three');
    await c.wait('ended');
    const restarted = await under.restart();
    const recovered = await restarted.recover([
      { containerId: 'ended', taskId: 'task-ended', runtime: task.runtime, state },
    ]);
    if (!survivesAgentRestart) {
      assertReportedLost(recovered, 'ended');
      return;
    }
    assert.equal(recovered.running, []);
    assert.is(recovered.terminated.length, 1);
    assert.is(recovered.terminated[0]?.termination.exitCode, 3);
  },
};

/** A runtime whose containers die with the agent reports each checkpointed one lost, once. */
function assertReportedLost(recovered: RecoveredContainers, containerId: string): void {
  assert.equal(recovered.running, []);
  assert.is(recovered.terminated.length, 1);
  assert.is(recovered.terminated[0]?.containerId, containerId);
  assert.is(recovered.terminated[0]?.termination.reason, 'lost');
}

export function runContainerizerSuite(options: SuiteOptions): void {
  const tests = suite(`containerizer suite: ${options.name}`);
  for (const [name, body] of Object.entries(cases)) {
    tests(name, async () => {
      const under = await options.make();
      const sandboxes: string[] = [];
      const launch: CaseContext['launch'] = async (containerId, kind) => {
        const sandboxDir = await mkdtemp(join(tmpdir(), `wasmos-suite-${containerId}-`));
        sandboxes.push(sandboxDir);
        return under.containerizer.launch({
          ...under.task(kind),
          containerId,
          taskId: `task-${containerId}`,
          sandboxDir,
        });
      };
      try {
        await body({
          under,
          c: under.containerizer,
          launch,
          survivesAgentRestart: options.survivesAgentRestart,
        });
      } finally {
        await under.close();
        for (const dir of sandboxes) await rm(dir, { recursive: true, force: true });
      }
    });
  }
  tests.run();
}
