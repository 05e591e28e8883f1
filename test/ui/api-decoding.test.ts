/**
 * The UI's API client (master/ui/browser/api.ts) as the browser runs it: the modules the master
 * serves, imported into a real headless Chromium page. A task's outcome is spelled in snake_case
 * by the operator API and in camelCase by the jobs API; both must decode to the same facts, and a
 * listing endpoint must come back decoded entry by entry.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startMaster, type RunningMaster } from '../../master/server/master-process.js';
import { JOBS_FRAMEWORK_NAME } from '../../master/server/jobs/framework.js';
import { makeClusterKeys, type ClusterKeys } from '../e2e/support/keys.js';
import { until } from '../support/until.js';
import { launchChromium, UI_DEADLINE_MS } from './browser.js';

/** Where the master serves the compiled master/ui/browser/api.ts. */
const API_MODULE_PATH = '/ui/js/api.js';

interface Setup {
  readonly keys: ClusterKeys;
  readonly master: RunningMaster;
  readonly browser: Browser;
  readonly page: Page;
}

let setup: Setup | undefined;

function the(): Setup {
  assert.ok(setup, 'the master and browser started');
  return setup;
}

test.before(async () => {
  const keys = await makeClusterKeys(0);
  const master = await startMaster({
    workDir: join(keys.dir, 'master'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    port: 0,
    reloadTrust: false,
  });
  const browser = await launchChromium();
  const page = await browser.newPage();
  page.setDefaultTimeout(UI_DEADLINE_MS);
  await page.goto(`${master.url}/ui/`);
  setup = { keys, master, browser, page };
});

test.after(async () => {
  if (!setup) return;
  await setup.browser.close();
  await setup.master.stop();
  await rm(setup.keys.dir, { recursive: true, force: true });
});

/** What the page's `api.js` makes of `json` (as a task of the operator API and as a job). */
async function decodeInPage(
  json: Record<string, unknown>,
): Promise<{ task: Record<string, unknown>; job: Record<string, unknown> }> {
  return the().page.evaluate(
    async ([modulePath, value]) => {
      const api = (await import(modulePath)) as {
        taskOf: (value: unknown) => Record<string, unknown>;
        jobOf: (value: unknown) => Record<string, unknown>;
      };
      return { task: api.taskOf(value), job: api.jobOf(value) };
    },
    [API_MODULE_PATH, json] as const,
  );
}

const OUTCOME = {
  reason: 'REASON_COMMAND_EXECUTOR_FAILED',
  message: 'exited 3',
  exitCode: 3,
  fuelConsumed: 1234,
  peakMemoryBytes: 65536,
  durationMs: 42,
};

const outcomeOf = (decoded: Record<string, unknown>) =>
  Object.fromEntries(Object.keys(OUTCOME).map((key) => [key, decoded[key]]));

test('a task outcome decodes from the operator API (snake_case) and from the jobs API (camelCase)', async () => {
  const snake = await decodeInPage({
    id: 't1',
    state: 'TASK_FAILED',
    reason: OUTCOME.reason,
    message: OUTCOME.message,
    exit_code: OUTCOME.exitCode,
    fuel_consumed: OUTCOME.fuelConsumed,
    peak_memory_bytes: OUTCOME.peakMemoryBytes,
    duration_ms: OUTCOME.durationMs,
    updated_ms: 7,
  });
  assert.equal(outcomeOf(snake.task), OUTCOME);
  assert.is(snake.task['updatedMs'], 7);
  assert.is(snake.job['exitCode'], undefined, 'the jobs API is not read in snake_case');

  const camel = await decodeInPage({
    id: 'j1',
    state: 'failed',
    taskState: 'TASK_FAILED',
    ...OUTCOME,
  });
  assert.equal(outcomeOf(camel.job), OUTCOME);
  assert.is(camel.job['taskState'], 'TASK_FAILED');
  assert.is(camel.task['exitCode'], undefined, 'the operator API is not read in camelCase');

  const none = await decodeInPage({ id: 't2', exit_code: 'three', duration_ms: Infinity });
  assert.equal(
    outcomeOf(none.task),
    Object.fromEntries(Object.keys(OUTCOME).map((key) => [key, undefined])),
    'values of the wrong type are left out',
  );
});

test('the listing endpoints come back decoded, entry by entry', async () => {
  const { master, page } = the();
  const submitted = await fetch(`${master.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'waits', wasm: { digest: `sha256:${'0'.repeat(64)}` } }),
  });
  assert.is(submitted.status, 201, await submitted.clone().text());
  const { id } = (await submitted.json()) as { id: string };
  const listInPage = () =>
    page.evaluate(async (modulePath) => {
      const api = (await import(modulePath)) as Record<
        'getAgents' | 'getFrameworks' | 'getTasks' | 'getJobs',
        (signal: AbortSignal) => Promise<Array<Record<string, unknown>>>
      >;
      const signal = new AbortController().signal;
      return {
        agents: await api.getAgents(signal),
        frameworks: await api.getFrameworks(signal),
        tasks: await api.getTasks(signal),
        jobs: await api.getJobs(signal),
      };
    }, API_MODULE_PATH);
  // The jobs framework subscribes as the master starts: poll until the listing shows it.
  const listed = await until(
    async () => {
      const lists = await listInPage();
      return (
        lists.frameworks.some((framework) => framework['name'] === JOBS_FRAMEWORK_NAME) && lists
      );
    },
    'the jobs framework to be listed',
    UI_DEADLINE_MS,
  );
  assert.equal(listed.agents, []);
  assert.equal(listed.tasks, [], 'a job with no agent to run on has no task yet');
  const job = listed.jobs.find((each) => each['id'] === id);
  assert.ok(job, `job ${id} in ${JSON.stringify(listed.jobs)}`);
  assert.is(job['name'], 'waits');
  assert.is(job['state'], 'queued');
  assert.type(job['waiting'], 'string', 'a queued job says why it waits');
  assert.is(job['exitCode'], undefined);
});

test.run();
