/**
 * Random and corrupted requests against every route of a real master over HTTP: whatever
 * arrives, the answer is never a 5xx, every refusal is `{ error: { code, message } }`, the
 * master stays healthy, and nothing it holds (frameworks, agents, tasks, jobs, blobs) changes.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningMaster } from '../../../master/server/master-process.js';
import { generateIdentity, Signer, type SchedulerCall } from '../../../protocol/index.js';
import {
  cborFramework,
  basic,
  contextOf,
  CREDENTIALS,
  DriverAgent,
  FrameworkClient,
  makeKeys,
  removeKeys,
  startTestMaster,
  type Keys,
} from './scheduler-harness.js';

/** Enough requests to reach each route in many shapes; each is a real HTTP round trip. */
const REQUESTS = 400;

const subscribe: SchedulerCall = {
  type: 'SUBSCRIBE',
  subscribe: { framework_info: { user: 'alice', name: 'fuzzed', failover_timeout: 60 } },
};

let keys: Keys;
let master: RunningMaster;
let framework: FrameworkClient;
let frameworkId: string;
/** Correctly signed envelopes; only corrupted copies (or replays of used ones) are sent. */
const validEnvelopes: Uint8Array[] = [];

interface Holdings {
  readonly frameworks: number;
  readonly agents: number;
  readonly tasks: number;
  readonly jobs: number;
  readonly blobBytes: number;
}

async function holdings(): Promise<Holdings> {
  const view = contextOf(master).driver.view();
  const jobs = (await (await fetch(`${master.url}/api/v1/jobs`)).json()) as { jobs: unknown[] };
  return {
    frameworks: view.frameworks.size,
    agents: view.agents.size,
    tasks: [...view.agents.values()].reduce((sum, agent) => sum + agent.tasks.size, 0),
    jobs: jobs.jobs.length,
    blobBytes: contextOf(master).blobs.totalBytes,
  };
}

test.before(async () => {
  keys = await makeKeys();
  master = await startTestMaster(keys);
  framework = cborFramework(master.url, keys);
  assert.is((await framework.subscribe(subscribe)).status, 200);
  frameworkId = (await framework.next('SUBSCRIBED')).subscribed.framework_id.value;
  const agentId = await new DriverAgent(contextOf(master), 'agent').register();

  const frameworkSigner = new Signer(keys.framework);
  validEnvelopes.push(
    frameworkSigner.seal('scheduler.call', subscribe),
    frameworkSigner.seal('scheduler.call', {
      type: 'REVIVE',
      framework_id: { value: frameworkId },
      revive: {},
    }),
    new Signer(keys.agent).seal('agent.call', {
      type: 'HEARTBEAT',
      heartbeat: { agent_id: { value: agentId } },
    }),
    new Signer(generateIdentity()).seal('scheduler.call', subscribe),
  );
});

test.after(async () => {
  framework.disconnect();
  await master.stop();
  await removeKeys(keys);
});

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const segment = fc.oneof(
  fc.constantFrom('x', '..', '%2e%2e', '%00', 'job-1', 'task-1', 'latest', ''),
  hex(64),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);
const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('offset', 'limit', 'stream', 'follow', 'state', 'x'),
        fc.oneof(fc.constantFrom('-1', '1e309', 'NaN', '0', 'stdout', ''), fc.string()),
      ),
      { maxLength: 3 },
    )
    .map(
      (pairs) => '?' + pairs.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&'),
    ),
);
const path = fc
  .tuple(
    fc.constantFrom(
      '/api/v1/scheduler',
      '/api/v1/agent',
      '/api/v1/blobs/',
      '/api/v1/blobs/sha256:',
      '/api/v1/jobs',
      '/api/v1/jobs/',
      '/api/v1/state',
      '/api/v1/tasks',
      '/api/v1/tasks/',
      '/api/v1/agents',
      '/api/v1/frameworks',
      '/metrics',
      '/ui/js/',
      '/health',
      '/',
    ),
    segment,
    fc.constantFrom('', '/logs', '/kill', '/x/y'),
    query,
  )
  .map(([base, tail, suffix, search]) =>
    base.endsWith('/') || base.endsWith(':')
      ? `${base}${tail}${suffix}${search}`
      : `${base}${search}`,
  );

const corrupted = fc
  .tuple(
    fc.nat(),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([which, flips, cut]) => {
    const bytes = validEnvelopes[which % validEnvelopes.length]!.slice();
    for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask;
    return cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
  });
const body = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 4096 }),
  fc.json().map((text) => new TextEncoder().encode(text)),
  corrupted,
);
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/cbor',
      'application/json',
      'application/octet-stream',
      'text/plain',
      'application/json; charset=utf-8',
      'multipart/form-data; boundary=x',
      '',
    ),
    authorization: fc.constantFrom(
      basic(CREDENTIALS.principal, CREDENTIALS.secret),
      basic(CREDENTIALS.principal, 'wrong'),
      'Basic !!!',
      'Bearer x',
    ),
    'mesos-stream-id': fc.oneof(fc.constant('nope'), hex(32)),
    accept: fc.constantFrom('application/json', 'application/cbor', 'text/html', '*/*'),
  },
  { requiredKeys: [] },
);
const anyRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path,
  headers,
  body,
});
/** Bodies where bodies are read: most random paths end in a 404 before any parsing. */
const bodyRequest = fc.record({
  method: fc.constant('POST'),
  path: fc.constantFrom('/api/v1/scheduler', '/api/v1/agent', '/api/v1/jobs'),
  headers,
  body,
});
const uploadRequest = fc.record({
  method: fc.constant('PUT'),
  path: hex(64).map((digest) => `/api/v1/blobs/sha256:${digest}`),
  headers,
  body,
});
const request = fc.oneof(anyRequest, bodyRequest, uploadRequest);

test('no request, however malformed, gets a 5xx, an unstructured refusal, or changes the master', async () => {
  const before = await holdings();
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async ({ method, path, headers, body }) => {
      const sendsBody = body !== undefined && method !== 'GET';
      const response = await fetch(`${master.url}${path}`, {
        method,
        headers,
        ...(sendsBody ? { body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const described = `${method} ${path} -> ${response.status}`;
      assert.ok(response.status < 500, described);
      if (response.status >= 400) {
        assert.match(response.headers.get('content-type') ?? '', /application\/json/, described);
        const refusal = (await response.json()) as {
          error?: { code?: unknown; message?: unknown };
        };
        assert.type(refusal.error?.code, 'string', described);
        assert.type(refusal.error?.message, 'string', described);
      } else {
        // An event stream (a GET of logs with follow, say) is not read to its end.
        await response.body?.cancel();
      }
    }),
    { numRuns: REQUESTS },
  );
  const health = await fetch(`${master.url}/health`);
  assert.equal(await health.json(), { healthy: true, master_id: contextOf(master).masterId });
  assert.equal(await holdings(), before);
  assert.ok(framework.ended === false, 'the subscribed framework keeps its stream');
  // The requests reached the routes rather than all being turned away at the door.
  assert.ok(
    [...statuses.keys()].filter((status) => status >= 400).length >= 4,
    `statuses seen: ${[...statuses]}`,
  );
});

test.run();
