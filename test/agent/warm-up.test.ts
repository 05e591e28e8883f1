/**
 * A fresh agent loads and runs the component tools in the background at start, so its first
 * component task does not pay for them; an agent stopped during that warm-up stops cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, type AgentOptions } from '../../agent/agent.js';
import { createLogger } from '../../lib/log.js';
import { generateIdentity } from '../../protocol/keys/identity.js';
import { eventually, FakeMaster } from './support/fake-master.js';

/** Loading jco and compiling its tools takes seconds; far longer on a machine this busy. */
const WARM_DEADLINE_MS = 120_000;
const master = new FakeMaster();
const workDirs: string[] = [];

function options(lines: string[], extra: Partial<AgentOptions> = {}): AgentOptions {
  const identity = generateIdentity();
  master.trustAgent(identity);
  const workDir = mkdtempSync(join(tmpdir(), 'wasmos-agent-warm-'));
  workDirs.push(workDir);
  return {
    masterUrl: master.url,
    workDir,
    trust: master.masterTrust(),
    identity,
    resources: { cpus: 1, mem: 256 },
    runtimes: ['wasm'],
    logger: createLogger('agent', { level: 'debug', sink: { write: (line) => lines.push(line) } }),
    ...extra,
  };
}

test.before(() => master.start());

test.after(async () => {
  await master.stop();
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

test('a fresh agent warms the component tools in the background', async () => {
  const lines: string[] = [];
  const agent = await startAgent(options(lines));
  try {
    await eventually(
      'the warm-up',
      () => lines.find((line) => line.includes('component tools warmed')),
      WARM_DEADLINE_MS,
    );
    assert.not.ok(lines.some((line) => line.includes('warming the component tools failed')));
  } finally {
    await agent.stop();
  }
});

test('an agent stopped during the warm-up stops cleanly', async () => {
  const lines: string[] = [];
  const agent = await startAgent(options(lines));
  await agent.stop();
  // Whatever the warm-up was doing ends without an unhandled rejection (which would fail this
  // file) and is logged as ended, one way or the other.
  await eventually(
    'the warm-up to end',
    () => lines.find((line) => line.includes('component tools warm')),
    WARM_DEADLINE_MS,
  );
});

test('the warm-up can be turned off', async () => {
  const lines: string[] = [];
  const agent = await startAgent(options(lines, { warmComponentTools: false }));
  await agent.stop();
  assert.not.ok(lines.some((line) => line.includes('component tools warm')));
});

test.run();
