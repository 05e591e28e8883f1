import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  endLine,
  exitStatusOfJob,
  jobRequestOf,
  ProgressReporter,
  type RunFlags,
} from '../../cli/commands/run.js';
import { formatTable } from '../../cli/client/format.js';
import type { JobAnswer } from '../../cli/client/jobs.js';
import { WasmosError } from '../../lib/errors.js';
import { DEFAULT_JOBS_LIMITS } from '../../master/server/jobs/limits.js';
import { parseJobRequest } from '../../master/server/jobs/spec.js';

const DIGEST = `sha256:${'12'.repeat(32)}`;
const flags = (extra: Partial<RunFlags> = {}): RunFlags => ({
  cpus: '0.1',
  mem: '64',
  allowRead: [],
  allowWrite: [],
  allowNet: [],
  env: [],
  attr: [],
  ...extra,
});

test('run flags become a job the master accepts', () => {
  const body = jobRequestOf(
    ['app.wasm', '--verbose', 'x'],
    flags({
      cpus: '0.5',
      mem: '128',
      fuel: '1_000_000',
      timeout: '30s',
      env: ['LANG=C', 'EMPTY='],
      attr: ['zone:edge-1'],
      allowRead: ['data'],
      allowWrite: ['out'],
    }),
    DIGEST,
  );
  assert.equal(body, {
    name: 'app.wasm',
    resources: { cpus: 0.5, mem: 128 },
    attributes: { zone: 'edge-1' },
    wasm: {
      digest: DIGEST,
      args: ['--verbose', 'x'],
      env: [
        { name: 'LANG', value: 'C' },
        { name: 'EMPTY', value: '' },
      ],
      fuel: 1_000_000,
      timeout_ms: 30_000,
      permissions: { read: ['data'], write: ['out'] },
    },
  });
  assert.ok(parseJobRequest(body, DEFAULT_JOBS_LIMITS).ok);
});

test('--linux makes a Mesos command without a shell: the program, and its whole argv', () => {
  const body = jobRequestOf(['/bin/sh', '-c', 'echo hi'], flags({ linux: true }), undefined);
  assert.equal(body['command'], {
    shell: false,
    value: '/bin/sh',
    arguments: ['/bin/sh', '-c', 'echo hi'],
  });
  assert.is(body['name'], '/bin/sh');
  const parsed = parseJobRequest(body, DEFAULT_JOBS_LIMITS);
  assert.ok(parsed.ok);
  assert.is(parsed.value.runtime, 'linux');
});

test('--read-only asks for a read-only host filesystem, for Linux commands only', () => {
  const body = jobRequestOf(['/bin/true'], flags({ linux: true, readOnly: true }), undefined);
  assert.equal(body['command'], {
    shell: false,
    value: '/bin/true',
    arguments: ['/bin/true'],
    filesystem: 'read-only',
  });
  assert.ok(parseJobRequest(body, DEFAULT_JOBS_LIMITS).ok);
  assert.throws(
    () => jobRequestOf(['app.wasm'], flags({ readOnly: true }), DIGEST),
    /--read-only is for Linux commands/,
  );
});

test('bad flags are refused with the flag named', () => {
  const cases: Array<[Partial<RunFlags>, RegExp]> = [
    [{ cpus: '0' }, /--cpus/],
    [{ mem: 'lots' }, /--mem/],
    [{ fuel: '-3' }, /--fuel/],
    [{ timeout: 'soon' }, /--timeout/],
    [{ env: ['NOVALUE'] }, /--env expects NAME=VALUE/],
    [{ attr: ['zone'] }, /--attr expects NAME:VALUE/],
  ];
  for (const [extra, why] of cases) {
    try {
      jobRequestOf(['app.wasm'], flags(extra), DIGEST);
      assert.unreachable(`refused: ${JSON.stringify(extra)}`);
    } catch (error) {
      assert.instance(error, WasmosError);
      assert.match((error as Error).message, why);
    }
  }
});

const job = (extra: Partial<JobAnswer>): JobAnswer => ({
  id: 'job-1',
  name: 'x',
  state: 'finished',
  submittedAtMs: 0,
  ...extra,
});

test('the exit status is the task exit code, else what the end means', () => {
  assert.is(exitStatusOfJob(job({ exitCode: 3 })), 3);
  assert.is(exitStatusOfJob(job({ exitCode: 256 + 7 })), 7);
  assert.is(exitStatusOfJob(job({})), 0);
  assert.is(exitStatusOfJob(job({ state: 'killed' })), 137);
  assert.is(exitStatusOfJob(job({ state: 'failed', reason: 'REASON_TIMEOUT' })), 124);
  assert.is(exitStatusOfJob(job({ state: 'failed', reason: 'REASON_FUEL_EXHAUSTED' })), 134);
  assert.is(exitStatusOfJob(job({ state: 'lost' })), 1);
});

test('progress prints each change once, and the end with its figures', () => {
  const lines: string[] = [];
  const progress = new ProgressReporter((line) => lines.push(line));
  progress.report(job({ state: 'queued', waiting: { code: 'no_agents', message: 'no agent' } }));
  progress.report(job({ state: 'queued', waiting: { code: 'no_agents', message: 'no agent' } }));
  progress.report(job({ state: 'placed', hostname: 'edge', agentId: 'S1' }));
  progress.report(job({ state: 'running', hostname: 'edge' }));
  assert.equal(lines, [
    'wasmos: job job-1 queued (no agent)\n',
    'wasmos: placed on agent edge (S1)\n',
    'wasmos: running on edge\n',
  ]);
  assert.is(
    endLine(
      job({
        state: 'failed',
        reason: 'REASON_FUEL_EXHAUSTED',
        message: 'fuel exhausted',
        fuelConsumed: 1_000_000,
        peakMemoryBytes: 131072,
        durationMs: 7,
      }),
    ),
    'failed REASON_FUEL_EXHAUSTED: fuel exhausted fuel=1,000,000 memory=128.0 KiB time=7 ms',
  );
  assert.is(
    endLine(
      job({
        state: 'finished',
        exitCode: 0,
        fuelConsumed: 0,
        peakMemoryBytes: 1048576,
        durationMs: 12,
        summary: { runtime: 'linux' },
      }),
    ),
    'finished exit=0 memory=1.0 MiB time=12 ms',
    'a Linux task shows no fuel',
  );
});

test('tables pad every column but the last', () => {
  assert.is(
    formatTable(
      ['ID', 'STATE', 'NOTE'],
      [
        ['a', 'RUNNING', ''],
        ['long-id', 'X', 'why'],
      ],
    ),
    'ID       STATE    NOTE\na        RUNNING\nlong-id  X        why\n',
  );
});

test.run();
