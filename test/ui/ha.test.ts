/**
 * The web UI with several masters (docs/HA.md, docs/UI.md "High availability"): real ZooKeeper,
 * two `wasmos master --zk` processes, headless Chromium. A standby sends the browser to the
 * leader's UI; a page left open on a master that stops leading says so and links to the new
 * leader's UI.
 */
import { rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHaMasters } from '../e2e/support/ha-masters.js';
import { makeClusterKeys, type ClusterKeys } from '../e2e/support/keys.js';
import { until } from '../support/until.js';
import { HaMasterProcess } from '../master/server/ha/master-process.js';
import { ZkEnsemble } from '../support/zookeeper.js';
import { launchChromium, UI_DEADLINE_MS } from './browser.js';

/** JVM start, session expiry and an election on a loaded machine. */
const HA_DEADLINE_MS = 120_000;

let zk: ZkEnsemble | undefined;
let keys: ClusterKeys | undefined;
let browser: Browser | undefined;
const masters: HaMasterProcess[] = [];

test.before(async () => {
  zk = await ZkEnsemble.start(1);
  keys = await makeClusterKeys(0);
  const started = await startHaMasters(keys, zk, {
    names: ['a', 'b'],
    root: 'wasmos-ui',
    // Long enough that a loaded machine does not lose a session (and the lead) by itself.
    sessionTimeout: '8s',
  });
  masters.push(...started.masters);
  browser = await launchChromium();
});

test.after(async () => {
  await browser?.close();
  await Promise.all(masters.map((master) => master.kill()));
  await zk?.close();
  if (keys) await rm(keys.dir, { recursive: true, force: true });
});

/** The master that serves as leader (its /health), among `candidates`. */
function leaderAmong(candidates: readonly HaMasterProcess[]): Promise<HaMasterProcess> {
  return until(
    async () => {
      for (const master of candidates) {
        const health = await fetch(`${master.url}/health`, {
          signal: AbortSignal.timeout(5000),
        }).catch(() => undefined);
        if (health?.status !== 200) continue;
        // A standby answers `leading: false`; the leader's own health has no such field, and
        // every answer names the leader in a header.
        const body = (await health.json()) as { leading?: boolean };
        if (body.leading !== false && health.headers.get('wasmos-leader') === master.url)
          return master;
      }
      return undefined;
    },
    'a master to lead',
    HA_DEADLINE_MS,
  );
}

/** The text of the page's view, or '' while it is not the UI (an error page, loading). */
async function viewText(page: Page): Promise<string> {
  return (
    (await page
      .locator('#view')
      .textContent({ timeout: 1000 })
      .catch(() => null)) ?? ''
  );
}

test('a standby sends the browser to the leader UI; a page left on a master that stops leading links to the new leader', async () => {
  assert.ok(browser);
  const page = await browser.newPage();
  page.setDefaultTimeout(UI_DEADLINE_MS);
  try {
    // Through the standby to the leader's UI (again if the lead moved meanwhile).
    const leader = await until(
      async () => {
        const current = await leaderAmong(masters);
        const standby = masters.find((master) => master !== current)!;
        await page.goto(`${standby.url}/ui/`).catch(() => undefined);
        if (new URL(page.url()).origin !== new URL(current.url).origin) return undefined;
        const overview = await until(
          async () => (await viewText(page)).includes('0 active of 0'),
          'the overview',
          UI_DEADLINE_MS / 4,
        ).catch(() => false);
        return overview && current;
      },
      'the standby to send the browser to the leader UI',
      HA_DEADLINE_MS,
    );
    const standby = masters.find((master) => master !== leader)!;

    // The leader freezes past its session timeout: the other master takes over. When the old
    // one wakes up it no longer leads, and the page still open on it says where to go.
    leader.signal('SIGSTOP');
    const next = await leaderAmong([standby]);
    leader.signal('SIGCONT');
    await until(
      async () => (await viewText(page)).includes('does not lead now'),
      'the open page to notice its master no longer leads',
      HA_DEADLINE_MS,
    );
    const link = page.locator('#view a', { hasText: /.+/ }).first();
    await until(
      async () => (await link.getAttribute('href')) === `${next.url}/ui/`,
      'a link to the new leader UI',
      HA_DEADLINE_MS,
    );
  } finally {
    await page.close();
  }
});

test.run();
