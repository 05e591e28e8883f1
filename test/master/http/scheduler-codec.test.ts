import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../lib/clock.js';
import {
  generateIdentity,
  ReplayGuard,
  Signer,
  TrustStore,
  type SchedulerCall,
} from '../../../protocol/index.js';
import { HttpCredentials } from '../../../master/http/credentials.js';
import {
  decodeSchedulerCall,
  encodeSchedulerEvent,
  type SchedulerCodecOptions,
} from '../../../master/http/scheduler-codec.js';

const NOW_MS = 1_767_225_600_000;
const subscribe: SchedulerCall = {
  type: 'SUBSCRIBE',
  subscribe: { framework_info: { user: 'alice', name: 'batch' } },
};

function setup(withJson = false) {
  const clock = new ManualClock(NOW_MS);
  const framework = generateIdentity();
  const agent = generateIdentity();
  const trust = new TrustStore([
    { publicKey: framework.publicKey, role: 'framework', name: 'batch' },
    { publicKey: agent.publicKey, role: 'agent', name: 'edge-1' },
  ]);
  const options: SchedulerCodecOptions = {
    trust,
    replay: new ReplayGuard(),
    clock,
    bodyBytesMax: 64 * 1024,
    ...(withJson
      ? { credentials: new HttpCredentials([{ principal: 'ops', secret: 's3cret' }]) }
      : {}),
  };
  return {
    options,
    framework: new Signer(framework, { clock }),
    agent: new Signer(agent, { clock }),
  };
}

const cborRequest = (body: Uint8Array) =>
  new Request('http://master/api/v1/scheduler', {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body,
  });

const jsonRequest = (body: string, authorization?: string) =>
  new Request('http://master/api/v1/scheduler', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization ? { authorization } : {}),
    },
    body,
  });

const basic = (user: string, secret: string) =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

test('accepts a call signed by a framework key and names the caller', async () => {
  const { options, framework } = setup();
  const decoded = await decodeSchedulerCall(
    cborRequest(framework.seal('scheduler.call', subscribe)),
    options,
  );
  assert.ok(decoded.ok);
  assert.equal(decoded.value.call, subscribe);
  assert.equal(decoded.value.caller, { kind: 'key', keyId: framework.keyId, name: 'batch' });
  assert.is(decoded.value.encoding, 'cbor');
});

test('refuses a call signed by an agent key with 403 WRONG_ROLE', async () => {
  const { options, agent } = setup();
  // A valid call, but signed by a key whose role may not make scheduler calls.
  const sealed = agent.seal('scheduler.call', subscribe);
  const decoded = await decodeSchedulerCall(cborRequest(sealed), options);
  assert.ok(!decoded.ok);
  assert.equal([decoded.error.status, decoded.error.code], [403, 'WRONG_ROLE']);
});

test('refuses a replayed envelope the second time only', async () => {
  const { options, framework } = setup();
  const sealed = framework.seal('scheduler.call', subscribe);
  assert.ok((await decodeSchedulerCall(cborRequest(sealed), options)).ok);
  const replayed = await decodeSchedulerCall(cborRequest(sealed), options);
  assert.ok(!replayed.ok);
  assert.is(replayed.error.code, 'REPLAYED');
  assert.is(replayed.error.status, 400);
});

test('refuses unknown keys with 403, garbage with 400 and oversize with 413', async () => {
  const { options } = setup();
  const stranger = new Signer(generateIdentity(), { clock: options.clock });
  const unknown = await decodeSchedulerCall(
    cborRequest(stranger.seal('scheduler.call', subscribe)),
    options,
  );
  assert.ok(!unknown.ok);
  assert.equal([unknown.error.status, unknown.error.code], [403, 'UNKNOWN_KEY']);
  const garbage = await decodeSchedulerCall(cborRequest(Uint8Array.of(1, 2, 3)), options);
  assert.ok(!garbage.ok);
  assert.equal([garbage.error.status, garbage.error.code], [400, 'MALFORMED']);
  const huge = await decodeSchedulerCall(cborRequest(new Uint8Array(70 * 1024)), options);
  assert.ok(!huge.ok);
  assert.is(huge.error.status, 413);
});

test('answers 415 for other media types, and for JSON while it is switched off', async () => {
  const { options } = setup();
  const text = new Request('http://master/', {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'x',
  });
  const plain = await decodeSchedulerCall(text, options);
  assert.ok(!plain.ok);
  assert.is(plain.error.status, 415);
  const json = await decodeSchedulerCall(jsonRequest(JSON.stringify(subscribe)), options);
  assert.ok(!json.ok);
  assert.equal([json.error.status, json.error.code], [415, 'JSON_DISABLED']);
});

test('accepts a Mesos v1 JSON call with valid Basic credentials', async () => {
  const { options } = setup(true);
  const decoded = await decodeSchedulerCall(
    jsonRequest(JSON.stringify(subscribe), basic('ops', 's3cret')),
    options,
  );
  assert.ok(decoded.ok);
  assert.equal(decoded.value.caller, { kind: 'principal', principal: 'ops' });
  assert.equal(decoded.value.call, subscribe);
});

test('refuses JSON with missing or wrong credentials with 401', async () => {
  const { options } = setup(true);
  for (const authorization of [
    undefined,
    basic('ops', 'wrong'),
    basic('nobody', 's3cret'),
    'Bearer x',
  ]) {
    const decoded = await decodeSchedulerCall(
      jsonRequest(JSON.stringify(subscribe), authorization),
      options,
    );
    assert.ok(!decoded.ok);
    assert.is(decoded.error.status, 401);
  }
});

test('refuses malformed JSON and unknown fields with 400, naming the field', async () => {
  const { options } = setup(true);
  const auth = basic('ops', 's3cret');
  const broken = await decodeSchedulerCall(jsonRequest('{"type":', auth), options);
  assert.ok(!broken.ok);
  assert.equal([broken.error.status, broken.error.code], [400, 'MALFORMED']);
  const extra = { ...subscribe, surprise: true };
  const unknown = await decodeSchedulerCall(jsonRequest(JSON.stringify(extra), auth), options);
  assert.ok(!unknown.ok);
  assert.equal([unknown.error.status, unknown.error.code], [400, 'SCHEMA']);
});

test('encodes events as signed envelopes for CBOR subscribers and as JSON otherwise', () => {
  const { framework } = setup();
  const event = { type: 'HEARTBEAT' } as const;
  const json = encodeSchedulerEvent(event, 'json', framework);
  assert.equal(JSON.parse(new TextDecoder().decode(json)), event);
  const cbor = encodeSchedulerEvent(event, 'cbor', framework);
  assert.ok(cbor.length > 64, 'a signed envelope carries a 64-byte signature');
});

test('loads a Mesos credentials file only when it is private', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmos-creds-'));
  const path = join(dir, 'credentials.json');
  writeFileSync(path, JSON.stringify({ credentials: [{ principal: 'ops', secret: 'pw' }] }));
  chmodSync(path, 0o644);
  const open = await HttpCredentials.load(path);
  assert.ok(!open.ok);
  assert.match(open.error, /chmod 600/);
  chmodSync(path, 0o600);
  const loaded = await HttpCredentials.load(path);
  assert.ok(loaded.ok);
  assert.is(loaded.value.authenticate(basic('ops', 'pw')), 'ops');
  writeFileSync(path, '{"credentials": [{"principal": "ops"}]}');
  assert.not.ok((await HttpCredentials.load(path)).ok);
});

test.run();
