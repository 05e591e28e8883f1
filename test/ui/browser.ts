import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM_PATH = process.env['WASMOS_CHROMIUM'] ?? '/usr/bin/chromium';

/** Generous: the machine may be busy with several builds and test runs at once. */
export const UI_DEADLINE_MS = 60_000;

/**
 * A real headless Chromium. `--no-sandbox` because the tests run as root, where Chromium's
 * sandbox refuses to start; the pages it loads are our own UI on loopback.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: UI_DEADLINE_MS,
  });
}
