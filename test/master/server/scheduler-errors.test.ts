/**
 * Every refusal of the scheduler API through a real HTTP server: status, `{ error: { code,
 * message } }` body, and nothing changed in the master.
 */
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import { ManualClock } from '../../../lib/clock.js';
import * as assert from 'uvu/assert';
import {
  encodeCbor,
  generateIdentity,
  Signer,
  type SchedulerCall,
} from '../../../protocol/index.js';
import type { RunningMaster } from '../../../master/server/master-process.js';
import {
  basic,
  cborFramework,
  contextOf,
  CREDENTIALS,
  FrameworkClient,
  makeKeys,
  removeKeys,
  startTestMaster,
  type Keys,
} from './scheduler-harness.js';

const subscribe: SchedulerCall = {
  type: 'SUBSCRIBE',
  subscribe: { framework_info: { user: 'alice', name: 'batch', failover_timeout: 60 } },
};

interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

async function refusal(response: Response): Promise<Refusal> {
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.type(body.error.code, 'string');
  assert.type(body.error.message, 'string');
  return { status: response.status, ...body.error };
}

const post = (master: RunningMaster, init: RequestInit) =>
  fetch(`${master.url}/api/v1/scheduler`, init);

const jsonInit = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    authorization: basic(CREDENTIALS.principal, CREDENTIALS.secret),
    ...headers,
  },
  body,
});

let keys: Keys;
let master: RunningMaster;
let cbor: FrameworkClient;
let frameworkId: string;

test.before(async () => {
  keys = await makeKeys();
  master = await startTestMaster(keys, { httpLimits: { callBytesMax: 64 * 1024 } });
  cbor = cborFramework(master.url, keys);
  assert.is((await cbor.subscribe(subscribe)).status, 200);
  frameworkId = (await cbor.next('SUBSCRIBED')).subscribed.framework_id.value;
});

test.after(async () => {
  cbor.disconnect();
  await master.stop();
  await removeKeys(keys);
});

const frameworksNow = () => contextOf(master).driver.view().frameworks.size;

test('415 for a media type that is neither CBOR nor JSON', async () => {
  const answer = await refusal(
    await post(master, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
  );
  assert.equal([answer.status, answer.code], [415, 'UNSUPPORTED_MEDIA_TYPE']);
});

test('415 for JSON on a master without HTTP credentials', async () => {
  const plain = await makeKeys();
  const noJson = await startTestMaster(plain, { json: false });
  try {
    const answer = await refusal(await post(noJson, jsonInit(JSON.stringify(subscribe))));
    assert.equal([answer.status, answer.code], [415, 'JSON_DISABLED']);
  } finally {
    await noJson.stop();
    await removeKeys(plain);
  }
});

test('401 for JSON without or with wrong credentials', async () => {
  const before = frameworksNow();
  const missing = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(subscribe),
    }),
  );
  assert.equal([missing.status, missing.code], [401, 'UNAUTHENTICATED']);
  const wrong = await refusal(
    await post(
      master,
      jsonInit(JSON.stringify(subscribe), { authorization: basic(CREDENTIALS.principal, 'nope') }),
    ),
  );
  assert.equal([wrong.status, wrong.code], [401, 'UNAUTHENTICATED']);
  assert.is(frameworksNow(), before);
});

test('400 for malformed JSON, a schema violation, or a CBOR body that is no envelope', async () => {
  const before = frameworksNow();
  const malformed = await refusal(await post(master, jsonInit('{"type":')));
  assert.equal([malformed.status, malformed.code], [400, 'MALFORMED']);
  const schema = await refusal(
    await post(master, jsonInit(JSON.stringify({ type: 'SUBSCRIBE', subscribe: {} }))),
  );
  assert.equal([schema.status, schema.code], [400, 'SCHEMA']);
  assert.match(schema.message, /framework_info/);
  const unknownField = await refusal(
    await post(master, jsonInit(JSON.stringify({ ...subscribe, extra: 1 }))),
  );
  assert.equal([unknownField.status, unknownField.code], [400, 'SCHEMA']);
  const garbage = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: encodeCbor({ hello: 'world' }),
    }),
  );
  assert.equal([garbage.status, garbage.code], [400, 'MALFORMED']);
  const empty = await refusal(
    await post(master, { method: 'POST', headers: { 'content-type': 'application/cbor' } }),
  );
  assert.equal([empty.status, empty.code], [400, 'EMPTY_BODY']);
  assert.is(frameworksNow(), before);
});

test('413 for a body over callBytesMax', async () => {
  const answer = await refusal(await post(master, jsonInit(' '.repeat(64 * 1024 + 1))));
  assert.equal([answer.status, answer.code], [413, 'TOO_LARGE']);
});

test('403 for an unknown key or a key whose role may not call the scheduler API', async () => {
  const stranger = new Signer(generateIdentity());
  const unknown = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: stranger.seal('scheduler.call', subscribe),
    }),
  );
  assert.equal([unknown.status, unknown.code], [403, 'UNKNOWN_KEY']);
  const agent = new Signer(keys.agent);
  const wrongRole = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: agent.seal('scheduler.call', subscribe),
    }),
  );
  assert.equal([wrongRole.status, wrongRole.code], [403, 'WRONG_ROLE']);
});

test('400 for an envelope outside the clock skew; 403 for a bad signature', async () => {
  const hourAgo = new ManualClock(Date.now() - 3_600_000);
  const stale = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: new Signer(keys.framework, { clock: hourAgo }).seal('scheduler.call', subscribe),
    }),
  );
  assert.equal([stale.status, stale.code], [400, 'STALE']);
  const sealed = new Signer(keys.framework).seal('scheduler.call', subscribe);
  const forged = new Uint8Array(sealed);
  forged[forged.length - 1]! ^= 0xff; // the signature is the wrapper's last field
  const badSignature = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: forged,
    }),
  );
  assert.equal([badSignature.status, badSignature.code], [403, 'BAD_SIGNATURE']);
});

test('400 for a replayed envelope', async () => {
  const signer = new Signer(keys.framework);
  const body = signer.seal('scheduler.call', {
    type: 'REVIVE',
    framework_id: { value: frameworkId },
  });
  const init = (): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/cbor', 'mesos-stream-id': cbor.streamId! },
    body,
  });
  assert.is((await post(master, init())).status, 202);
  const replayed = await refusal(await post(master, init()));
  assert.equal([replayed.status, replayed.code], [400, 'REPLAYED']);
});

test('400 without a Mesos-Stream-Id, and for SUBSCRIBE with one', async () => {
  const missing = await refusal(
    await post(master, cbor.request({ type: 'REVIVE', framework_id: { value: frameworkId } })),
  );
  assert.equal([missing.status, missing.code], [400, 'MISSING_STREAM_ID']);
  const before = frameworksNow();
  const subscribeWithStream = await refusal(
    await post(master, cbor.request(subscribe, { 'mesos-stream-id': 'anything' })),
  );
  assert.equal([subscribeWithStream.status, subscribeWithStream.code], [400, 'BAD_STREAM_HEADER']);
  assert.is(frameworksNow(), before);
});

test('403 for a wrong stream id', async () => {
  const answer = await refusal(
    await post(
      master,
      cbor.request(
        { type: 'REVIVE', framework_id: { value: frameworkId } },
        { 'mesos-stream-id': 'not-the-stream' },
      ),
    ),
  );
  assert.equal([answer.status, answer.code], [403, 'WRONG_STREAM']);
});

test("403 for another principal's framework, even with its stream id", async () => {
  const other = new Signer(keys.otherFramework);
  const teardown = await refusal(
    await post(master, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor', 'mesos-stream-id': cbor.streamId! },
      body: other.seal('scheduler.call', {
        type: 'TEARDOWN',
        framework_id: { value: frameworkId },
      }),
    }),
  );
  assert.equal([teardown.status, teardown.code], [403, 'PRINCIPAL_MISMATCH']);
  const viaJson = await refusal(
    await post(
      master,
      jsonInit(JSON.stringify({ type: 'TEARDOWN', framework_id: { value: frameworkId } }), {
        'mesos-stream-id': cbor.streamId!,
      }),
    ),
  );
  assert.equal([viaJson.status, viaJson.code], [403, 'PRINCIPAL_MISMATCH']);
  // Resubscribing someone else's framework id is refused by the core.
  const hijack = await refusal(
    await post(
      master,
      jsonInit(
        JSON.stringify({
          type: 'SUBSCRIBE',
          framework_id: { value: frameworkId },
          subscribe: { framework_info: { user: 'x', name: 'y', id: { value: frameworkId } } },
        }),
      ),
    ),
  );
  assert.equal([hijack.status, hijack.code], [403, 'PRINCIPAL_MISMATCH']);
  assert.ok(contextOf(master).driver.view().frameworks.get(frameworkId)?.streamId);
});

test('404 for an unknown framework', async () => {
  const call = await refusal(
    await post(
      master,
      cbor.request(
        { type: 'REVIVE', framework_id: { value: 'no-such-framework' } },
        { 'mesos-stream-id': 'x' },
      ),
    ),
  );
  assert.equal([call.status, call.code], [404, 'FRAMEWORK_UNKNOWN']);
  const resubscribe = await refusal(
    await post(
      master,
      cbor.request({
        type: 'SUBSCRIBE',
        framework_id: { value: 'no-such-framework' },
        subscribe: { framework_info: { user: 'x', name: 'y' } },
      }),
    ),
  );
  assert.equal([resubscribe.status, resubscribe.code], [404, 'FRAMEWORK_UNKNOWN']);
  const shutdown = await refusal(
    await post(
      master,
      cbor.request(
        {
          type: 'SHUTDOWN',
          framework_id: { value: 'no-such-framework' },
          shutdown: { executor_id: { value: 'e' }, agent_id: { value: 'a' } },
        },
        { 'mesos-stream-id': 'x' },
      ),
    ),
  );
  assert.equal([shutdown.status, shutdown.code], [404, 'FRAMEWORK_UNKNOWN']);
});

test('400 for calls wasmos cannot carry out as asked; nothing changes', async () => {
  const before = frameworksNow();
  const multiRole = await refusal(
    await post(
      master,
      jsonInit(
        JSON.stringify({
          type: 'SUBSCRIBE',
          subscribe: { framework_info: { user: 'u', name: 'n', roles: ['a', 'b'] } },
        }),
      ),
    ),
  );
  assert.equal([multiRole.status, multiRole.code], [400, 'INVALID_CALL']);
  const idMismatch = await refusal(
    await post(
      master,
      jsonInit(
        JSON.stringify({
          type: 'SUBSCRIBE',
          framework_id: { value: 'a' },
          subscribe: { framework_info: { user: 'u', name: 'n', id: { value: 'b' } } },
        }),
      ),
    ),
  );
  assert.equal([idMismatch.status, idMismatch.code], [400, 'INVALID_CALL']);
  const principal = await refusal(
    await post(
      master,
      jsonInit(
        JSON.stringify({
          type: 'SUBSCRIBE',
          subscribe: { framework_info: { user: 'u', name: 'n', principal: 'someone-else' } },
        }),
      ),
    ),
  );
  assert.equal([principal.status, principal.code], [400, 'INVALID_CALL']);
  const badRole = await refusal(
    await post(
      master,
      jsonInit(
        JSON.stringify({
          type: 'SUBSCRIBE',
          subscribe: { framework_info: { user: 'u', name: 'n', role: 'no spaces' } },
        }),
      ),
    ),
  );
  assert.equal([badRole.status, badRole.code], [400, 'INVALID']);
  assert.is(frameworksNow(), before);

  const noPayload = await refusal(
    await post(
      master,
      cbor.request(
        {
          type: 'ACCEPT',
          framework_id: { value: frameworkId },
          accept: {
            offer_ids: [{ value: 'o' }],
            operations: [
              {
                type: 'LAUNCH',
                launch: {
                  task_infos: [
                    {
                      name: 't',
                      task_id: { value: 't' },
                      agent_id: { value: 'a' },
                      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
                    },
                  ],
                },
              },
            ],
          },
        },
        { 'mesos-stream-id': cbor.streamId! },
      ),
    ),
  );
  assert.equal([noPayload.status, noPayload.code], [400, 'INVALID_CALL']);
  assert.match(noPayload.message, /neither 'wasm'.*nor 'command'/);
});

test('400 for a failover timeout over the limit (core refusal)', async () => {
  const answer = await refusal(
    await post(
      master,
      jsonInit(
        JSON.stringify({
          type: 'SUBSCRIBE',
          subscribe: { framework_info: { user: 'u', name: 'n', failover_timeout: 1e8 } },
        }),
      ),
    ),
  );
  assert.equal([answer.status, answer.code], [400, 'LIMIT_EXCEEDED']);
});

test('uploads need HTTP credentials when they are configured', async () => {
  const bytes = new TextEncoder().encode('component bytes');
  const hex = createHash('sha256').update(bytes).digest('hex');
  const url = `${master.url}/api/v1/blobs/${hex}`;
  const anonymous = await refusal(await fetch(url, { method: 'PUT', body: bytes }));
  assert.is(anonymous.status, 401);
  const stored = await fetch(url, {
    method: 'PUT',
    body: bytes,
    headers: { authorization: basic(CREDENTIALS.principal, CREDENTIALS.secret) },
  });
  assert.is(stored.status, 201);
  const read = await fetch(url);
  assert.is(read.status, 200);
  assert.equal(new Uint8Array(await read.arrayBuffer()), bytes);
});

test('GET /health answers while the master runs; unknown paths are 404 JSON', async () => {
  const health = await fetch(`${master.url}/health`);
  assert.is(health.status, 200);
  assert.equal(await health.json(), { healthy: true, master_id: master.masterId });
  const missing = await refusal(await fetch(`${master.url}/api/v1/nothing-here`));
  assert.equal([missing.status, missing.code], [404, 'NOT_FOUND']);
});

test.run();
