/**
 * The web UI as an operator uses it: a real master (startMaster, ephemeral port, temporary work
 * dir), a real `wasmos agent` process registered with it, a job submitted through the jobs API,
 * and the UI driven in headless Chromium. Data from tasks (names, output) is hostile on purpose:
 * it must show as text and never become markup or run.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startMaster, type RunningMaster } from '../../master/server/master-process.js';
import { UI_CONTENT_SECURITY_POLICY } from '../../master/ui/security.js';
import { makeClusterKeys, type ClusterKeys } from '../e2e/support/keys.js';
import { until } from '../support/until.js';
import { startAgentProcess, type CliProcess } from '../e2e/support/processes.js';
import { uploadProgram } from '../support/programs.js';
import { launchChromium, UI_DEADLINE_MS } from './browser.js';

/** Would set a global if the browser ever ran it as markup. */
const HOSTILE_NAME = '<img src=x onerror="window.__uiPwned=1"><script>window.__uiPwned=2</script>';
const HOSTILE_OUTPUT = '<img src=x onerror="window.__uiPwned=3"><b>not bold</b>';

interface Cluster {
  readonly keys: ClusterKeys;
  readonly master: RunningMaster;
  readonly agent: CliProcess;
  readonly browser: Browser;
}

let cluster: Cluster | undefined;

function the(): Cluster {
  assert.ok(cluster, 'the cluster started');
  return cluster;
}

test.before(async () => {
  const keys = await makeClusterKeys(1);
  const master = await startMaster({
    workDir: join(keys.dir, 'master'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    port: 0,
    reloadTrust: false,
    timings: { allocationIntervalMs: 100 },
  });
  const agent = startAgentProcess(keys, 0, master.url, join(keys.dir, 'agent'));
  await agent.waitForLog(
    (line) => line['message'] === 'registered with the master',
    'the agent to register',
  );
  const browser = await launchChromium();
  cluster = { keys, master, agent, browser };
});

test.after(async () => {
  if (!cluster) return;
  await cluster.browser.close();
  await cluster.agent.stop();
  await cluster.master.stop();
  await rm(cluster.keys.dir, { recursive: true, force: true });
});

/** A page that records what would betray a broken UI: script errors and CSP violations. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await the().browser.newPage();
  page.setDefaultTimeout(UI_DEADLINE_MS);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused/i.test(message.text()))
      problems.push(`console: ${message.text()}`);
  });
  return { page, problems };
}

/** Waits until the page's main view contains `text` (as text, anywhere in it). */
async function waitForText(page: Page, text: string, what: string): Promise<void> {
  try {
    await until(
      async () => (await page.locator('#view').textContent())?.includes(text),
      what,
      UI_DEADLINE_MS,
    );
  } catch (error) {
    const shown = await page.locator('body').textContent();
    throw new Error(`${(error as Error).message}\npage shows: ${shown}`);
  }
}

/** The task page's section of one output stream (its heading, status and text). */
function streamSection(page: Page, stream: 'stdout' | 'stderr') {
  return page.locator('section', { has: page.locator(`pre[data-stream="${stream}"]`) }).last();
}

test('the master serves the UI at /ui/ under a strict CSP, and / sends the browser there', async () => {
  const { url } = the().master;
  const root = await fetch(`${url}/`, { redirect: 'manual' });
  assert.is(root.status, 302);
  assert.is(root.headers.get('location'), '/ui/');

  const page = await fetch(`${url}/ui/`);
  assert.is(page.status, 200);
  assert.is(page.headers.get('content-security-policy'), UI_CONTENT_SECURITY_POLICY);
  assert.match(UI_CONTENT_SECURITY_POLICY, "script-src 'self'");
  assert.not.match(UI_CONTENT_SECURITY_POLICY, 'unsafe-inline');
  assert.is(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  assert.not.match(html, /<script(?![^>]*\bsrc=)/, 'no inline script');
  assert.not.match(html, /\sstyle=|<style/, 'no inline style');

  const script = await fetch(`${url}/ui/js/main.js`);
  assert.is(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', 'text/javascript');
  assert.ok(script.headers.get('content-security-policy'));
  assert.is((await fetch(`${url}/ui/js/..%2Fsecurity.js`)).status, 404);
  assert.is((await fetch(`${url}/ui/js/missing.js`)).status, 404);
});

test('the overview and agents pages show the registered agent', async () => {
  const { master } = the();
  const agentsJson = (await (await fetch(`${master.url}/api/v1/agents`)).json()) as {
    agents: Array<{ id: string; hostname: string }>;
  };
  const agent = agentsJson.agents[0];
  assert.ok(agent, 'the API lists the agent');
  const { page, problems } = await openPage();
  try {
    const response = await page.goto(`${master.url}/`);
    assert.ok(response, 'the page loaded');
    assert.is(new URL(page.url()).pathname, '/ui/');
    assert.is(response.headers()['content-security-policy'], UI_CONTENT_SECURITY_POLICY);
    await waitForText(page, '1 active of 1', 'the overview to count the agent');
    await waitForText(page, master.masterId, 'the overview to name the leader');

    await page.click('nav a[data-view="agents"]');
    await waitForText(page, agent.id, 'the agents page to list the agent');
    const row = page.locator('#view tbody tr', { hasText: agent.id });
    const cells = await row.locator('td').allTextContents();
    assert.ok(cells.includes(agent.hostname), `hostname in ${JSON.stringify(cells)}`);
    assert.ok(cells.includes('active'), `status in ${JSON.stringify(cells)}`);
    assert.ok(
      cells.some((cell) => cell.includes('cpus 2')),
      `resources in ${JSON.stringify(cells)}`,
    );
    assert.ok(
      cells.some((cell) => cell.includes('wasm')),
      `runtimes in ${JSON.stringify(cells)}`,
    );
    // The agent runs with --runtimes wasm: it says linux is off and why.
    assert.ok(
      cells.some((cell) => cell.includes('linux (disabled): ')),
      `unavailable runtimes in ${JSON.stringify(cells)}`,
    );
    assert.equal(problems, []);
  } finally {
    await page.close();
  }
});

test('a submitted job reaches TASK_FINISHED in the UI and its output shows as text', async () => {
  const { master } = the();
  const digest = await uploadProgram(master.url, 'args-echo');
  const submitted = await fetch(`${master.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: HOSTILE_NAME,
      wasm: { digest, args: [HOSTILE_OUTPUT, 'second line'] },
    }),
  });
  assert.is(submitted.status, 201, await submitted.clone().text());
  const { id } = (await submitted.json()) as { id: string };

  const { page, problems } = await openPage();
  try {
    await page.goto(`${master.url}/ui/#/tasks`);
    await waitForText(page, id, 'the tasks page to list the job task');
    const row = page.locator('#view tbody tr', { hasText: id });
    await row.getByText('TASK_FINISHED').waitFor();
    assert.ok((await row.textContent())?.includes(HOSTILE_NAME), 'the name shows as text');

    await page.click('nav a[data-view="jobs"]');
    await waitForText(page, id, 'the jobs page to list the job');
    await page.locator('#view tbody tr', { hasText: id }).getByText('finished').waitFor();

    await page.goto(`${master.url}/ui/#/tasks/${encodeURIComponent(id)}`);
    const stdout = page.locator('pre[data-stream="stdout"]');
    await until(
      async () => (await stdout.textContent())?.includes(`${HOSTILE_OUTPUT}\nsecond line\n`),
      'the task page to show the whole stdout',
      UI_DEADLINE_MS,
    );
    await streamSection(page, 'stdout').getByText('complete, ').waitFor();
    await waitForText(page, 'TASK_FINISHED', 'the task page to show the state');

    assert.is(await page.locator('img').count(), 0, 'no markup from task data');
    assert.is(await page.locator('#view b').count(), 0, 'no markup from task output');
    assert.is(await page.evaluate('window.__uiPwned'), undefined);
    assert.equal(problems, []);
  } finally {
    await page.close();
  }
});

test('a flooding task output is followed to its end: whole lines in order, the same end as the agent', async () => {
  const { master } = the();
  const digest = await uploadProgram(master.url, 'output-flood');
  // Prints lines as fast as it can until its 3 s timeout ends it: megabytes (many log chunks)
  // on a quiet machine, fewer under load. The page opens while it is queued or running and
  // follows it to the end; whatever the volume, what it shows must be the stream, in order.
  const submitted = await fetch(`${master.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'flood',
      wasm: { digest, fuel: Number.MAX_SAFE_INTEGER, timeout_ms: 3000 },
    }),
  });
  assert.is(submitted.status, 201, await submitted.clone().text());
  const { id } = (await submitted.json()) as { id: string };

  const { page, problems } = await openPage();
  try {
    await page.goto(`${master.url}/ui/#/tasks/${encodeURIComponent(id)}`);
    const stdout = page.locator('pre[data-stream="stdout"]');
    const ended = await until(
      async () => {
        const job = (await (await fetch(`${master.url}/api/v1/jobs/${id}`)).json()) as {
          state: string;
          taskState?: string;
        };
        return !['queued', 'placed', 'running'].includes(job.state) && job.taskState;
      },
      'the flood to end',
      UI_DEADLINE_MS,
    );
    await waitForText(page, ended, 'the task page to show how the task ended');
    await streamSection(page, 'stdout').getByText('complete, ').waitFor();

    // What the page shows ends exactly where the agent's copy of the stream ends.
    const tail = (await (
      await fetch(`${master.url}/api/v1/tasks/${id}/logs?stream=stdout&length=200`)
    ).json()) as { data: string; complete: boolean };
    assert.ok(tail.complete);
    const shown = (await stdout.textContent()) ?? '';
    assert.ok(shown.length <= 2 * 1024 * 1024, `the page keeps at most 2 Mi characters`);
    assert.ok(shown.endsWith(Buffer.from(tail.data, 'base64').toString('utf8')), 'the same end');
    // Every whole line follows the one before: no byte lost or repeated between chunks. Only
    // the last line (cut by the kill) and lines next to an announced skip may be partial.
    const lines = shown.split('\n').filter(Boolean);
    const isNotice = (line: string | undefined) => /skipped|no longer kept/.test(line ?? '');
    let previous: number | undefined;
    lines.forEach((line, index) => {
      const match = /^flood line (\d+): the quick brown fox jumps over the lazy dog$/.exec(line);
      if (match) {
        const number = Number(match[1]);
        if (previous !== undefined) assert.is(number, previous + 1, 'lines follow each other');
        previous = number;
        return;
      }
      const partialAllowed =
        isNotice(line) ||
        index === lines.length - 1 ||
        isNotice(lines[index + 1]) ||
        isNotice(lines[index - 1]);
      assert.ok(partialAllowed, `unexpected line ${JSON.stringify(line.slice(0, 120))}`);
      previous = undefined;
    });
    assert.equal(problems, []);
  } finally {
    await page.close();
  }
});

test('with HTTP credentials the UI asks for them, and serves the page to whoever gives them', async () => {
  const keys = the().keys;
  const credentialsFile = join(keys.dir, 'credentials.json');
  await writeFile(
    credentialsFile,
    JSON.stringify({ credentials: [{ principal: 'ops', secret: 's3cret' }] }),
    { mode: 0o600 },
  );
  const guarded = await startMaster({
    workDir: join(keys.dir, 'guarded-master'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    port: 0,
    reloadTrust: false,
    credentialsFile,
  });
  try {
    const anonymous = await fetch(`${guarded.url}/ui/`);
    assert.is(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
    const wrong = await fetch(`${guarded.url}/ui/js/main.js`, {
      headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` },
    });
    assert.is(wrong.status, 401);

    const context = await the().browser.newContext({
      httpCredentials: { username: 'ops', password: 's3cret' },
    });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(UI_DEADLINE_MS);
      const response = await page.goto(`${guarded.url}/ui/`);
      assert.is(response?.status(), 200);
      await waitForText(page, guarded.masterId, 'the overview behind credentials');
    } finally {
      await context.close();
    }
  } finally {
    await guarded.stop();
  }
});

/** Where the master serves the compiled master/ui/browser/api.ts. */
const API_MODULE_PATH = '/ui/js/api.js';

const OUTCOME_KEYS = [
  'reason',
  'message',
  'exitCode',
  'fuelConsumed',
  'peakMemoryBytes',
  'durationMs',
] as const;

const outcomeOf = (decoded: Record<string, unknown>) =>
  Object.fromEntries(OUTCOME_KEYS.map((key) => [key, decoded[key]]));

/** What the page's api.js makes of `json`, as a task of the operator API and as a job. */
function decodeInPage(
  page: Page,
  json: Record<string, unknown>,
): Promise<{ task: Record<string, unknown>; job: Record<string, unknown> }> {
  return page.evaluate(
    async ([modulePath, value]) => {
      const api = (await import(modulePath)) as Record<
        'taskOf' | 'jobOf',
        (value: unknown) => Record<string, unknown>
      >;
      return { task: api.taskOf(value), job: api.jobOf(value) };
    },
    [API_MODULE_PATH, json] as const,
  );
}

test('the UI client reads a task outcome in snake_case (operator API) and camelCase (jobs API)', async () => {
  const { page, problems } = await openPage();
  try {
    await page.goto(`${the().master.url}/ui/`);
    const outcome = {
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'exited 3',
      exitCode: 3,
      fuelConsumed: 1234,
      peakMemoryBytes: 65536,
      durationMs: 42,
    };
    const snake = await decodeInPage(page, {
      id: 't1',
      reason: outcome.reason,
      message: outcome.message,
      exit_code: outcome.exitCode,
      fuel_consumed: outcome.fuelConsumed,
      peak_memory_bytes: outcome.peakMemoryBytes,
      duration_ms: outcome.durationMs,
      updated_ms: 7,
    });
    assert.equal(outcomeOf(snake.task), outcome);
    assert.is(snake.task['updatedMs'], 7);
    assert.is(snake.job['exitCode'], undefined, 'the jobs API is not read in snake_case');

    const camel = await decodeInPage(page, { id: 'j1', taskState: 'TASK_FAILED', ...outcome });
    assert.equal(outcomeOf(camel.job), outcome);
    assert.is(camel.job['taskState'], 'TASK_FAILED');
    assert.is(camel.task['exitCode'], undefined, 'the operator API is not read in camelCase');

    const wrongTypes = await decodeInPage(page, { exit_code: 'three', duration_ms: 'long' });
    assert.equal(
      outcomeOf(wrongTypes.task),
      Object.fromEntries(OUTCOME_KEYS.map((key) => [key, undefined])),
    );
    assert.equal(problems, []);
  } finally {
    await page.close();
  }
});

test("the UI client's listings match the API, and a job's outcome reads the same as its task's", async () => {
  const { master } = the();
  const digest = await uploadProgram(master.url, 'args-echo');
  const submitted = await fetch(`${master.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'listed', wasm: { digest, args: ['hello'] } }),
  });
  assert.is(submitted.status, 201, await submitted.clone().text());
  const { id } = (await submitted.json()) as { id: string };
  await until(
    async () => {
      const job = (await (await fetch(`${master.url}/api/v1/jobs/${id}`)).json()) as {
        state: string;
      };
      return job.state === 'finished';
    },
    'the job to finish',
    UI_DEADLINE_MS,
  );
  const rawAgents = (await (await fetch(`${master.url}/api/v1/agents`)).json()) as {
    agents: Array<{ id: string; hostname: string }>;
  };

  const { page, problems } = await openPage();
  try {
    await page.goto(`${master.url}/ui/`);
    const listed = await page.evaluate(async (modulePath) => {
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
    assert.equal(
      listed.agents.map((agent) => [agent['id'], agent['hostname']]),
      rawAgents.agents.map((agent) => [agent.id, agent.hostname]),
    );
    assert.ok(
      listed.frameworks.some((framework) => framework['name'] === 'wasmos-jobs'),
      `the jobs framework in ${JSON.stringify(listed.frameworks)}`,
    );
    const task = listed.tasks.find((each) => each['id'] === id);
    const job = listed.jobs.find((each) => each['id'] === id);
    assert.ok(task && job, `task and job ${id} in ${JSON.stringify(listed)}`);
    assert.is(task['state'], 'TASK_FINISHED');
    assert.is(job['exitCode'], 0);
    assert.type(job['fuelConsumed'], 'number');
    assert.equal(outcomeOf(task), outcomeOf(job), 'one status, read from both APIs');
    assert.equal(problems, []);
  } finally {
    await page.close();
  }
});

test.run();
