import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Encoder } from 'cbor-x';
import { sign } from 'node:crypto';
import { ManualClock } from '../../lib/clock.js';
import {
  AgentCall,
  AgentEvent,
  generateIdentity,
  messageTypes,
  open,
  ReplayGuard,
  SchedulerCall,
  SchedulerEvent,
  Signer,
  TrustStore,
  unwrap,
  wrap,
  type Identity,
  type MessageBody,
  type MessageType,
  type OpenedMessage,
  type ProtocolError,
  type Role,
} from '../../protocol/index.js';
import { agentCalls, agentEvents, schedulerCalls, schedulerEvents } from './fixtures.js';

const START_MS = 1_767_225_600_000;

function party(
  role: Role,
  name: string,
  trust: TrustStore,
): { identity: Identity; signer: Signer } {
  const identity = generateIdentity();
  trust.add({ publicKey: identity.publicKey, role, name });
  return { identity, signer: new Signer(identity, { clock }) };
}

const clock = new ManualClock(START_MS);
const trust = new TrustStore();
const master = party('master', 'master', trust);
const agent = party('agent', 'agent-1', trust);
const framework = party('framework', 'batch', trust);

function opened(bytes: Uint8Array, replay = new ReplayGuard()): OpenedMessage {
  const result = open(bytes, trust, replay, { nowMs: clock.nowMs() });
  if (!result.ok) throw new Error(`expected to open: ${result.error.code} ${result.error.message}`);
  return result.value;
}

function refused(
  bytes: Uint8Array,
  replay = new ReplayGuard(),
  nowMs = clock.nowMs(),
): ProtocolError {
  const result = open(bytes, trust, replay, { nowMs });
  if (result.ok) throw new Error(`expected a refusal, opened a ${result.value.type}`);
  return result.error;
}

function roundTrip<T extends MessageType>(signer: Signer, type: T, bodies: MessageBody<T>[]): void {
  for (const body of bodies) {
    const message = opened(signer.seal(type, body));
    assert.is(message.type, type);
    assert.equal(message.body, body);
    assert.is(message.sender, signer.keyId);
    assert.is(message.sid, signer.sid);
  }
}

test('every scheduler call round-trips through seal and open', () => {
  roundTrip(framework.signer, 'scheduler.call', schedulerCalls);
});

test('every scheduler event round-trips through seal and open', () => {
  roundTrip(master.signer, 'scheduler.event', schedulerEvents);
});

test('the calls between masters round-trip through seal and open', () => {
  const names = { from: 'master-0a1b2c3d4e5f', to: 'master-6a7b8c9d0e1f' };
  roundTrip(master.signer, 'master.replicate', [{ digest: `sha256:${'0'.repeat(64)}`, ...names }]);
  roundTrip(master.signer, 'master.list_blobs', [
    names,
    { ...names, after: 'f'.repeat(64), limit: 1000 },
  ]);
});

test('every agent call and agent event round-trips through seal and open', () => {
  roundTrip(agent.signer, 'agent.call', agentCalls);
  roundTrip(master.signer, 'agent.event', agentEvents);
});

test('the fixtures hold an example of every variant of every message type', () => {
  const variants = (schema: { options: readonly { shape: { type: { value: string } } }[] }) =>
    schema.options.map((option) => option.shape.type.value).sort();
  const covered = (bodies: readonly { type: string }[]) =>
    [...new Set(bodies.map((body) => body.type))].sort();
  assert.equal(covered(schedulerCalls), variants(SchedulerCall));
  assert.equal(covered(schedulerEvents), variants(SchedulerEvent));
  assert.equal(covered(agentCalls), variants(AgentCall));
  assert.equal(covered(agentEvents), variants(AgentEvent));
  assert.equal(Object.keys(messageTypes).sort(), [
    'agent.call',
    'agent.event',
    'master.list_blobs',
    'master.replicate',
    'scheduler.call',
    'scheduler.event',
  ]);
});

test('a trust store forgets a removed key', () => {
  const store = new TrustStore();
  const entry = store.add({
    publicKey: generateIdentity().publicKey,
    role: 'operator',
    name: 'ops',
  });
  assert.is(store.get(entry.keyId)?.role, 'operator');
  assert.ok(store.remove(entry.keyId));
  assert.is(store.get(entry.keyId), undefined);
  assert.is(store.size, 0);
});

test('an envelope with sig before payload opens (CBOR map order is not meaningful)', () => {
  const { payload, sig } = unwrapOrThrow(agent.signer.seal('agent.call', agentCalls[2]!));
  const reordered = new Encoder({ useRecords: false, variableMapSize: true }).encode({
    sig: Buffer.from(sig),
    payload: Buffer.from(payload),
  });
  assert.is(opened(reordered).type, 'agent.call');
});

test('an opened message names its signer, role, session, seq and time', () => {
  const signer = new Signer(agent.identity, { clock, sid: 'fixed-session' });
  signer.seal('agent.call', agentCalls[2]!);
  const message = opened(signer.seal('agent.call', agentCalls[2]!));
  assert.is(message.signer.role, 'agent');
  assert.is(message.signer.name, 'agent-1');
  assert.is(message.sid, 'fixed-session');
  assert.is(message.seq, 2);
  assert.is(message.ts, START_MS);
});

test('a key not in the trust store is refused as UNKNOWN_KEY', () => {
  const stranger = new Signer(generateIdentity(), { clock });
  assert.is(refused(stranger.seal('agent.call', agentCalls[2]!)).code, 'UNKNOWN_KEY');
});

test('a signature by another key is refused as BAD_SIGNATURE', () => {
  const bytes = agent.signer.seal('agent.call', agentCalls[2]!);
  const { payload } = unwrapOrThrow(bytes);
  const forged = wrap(payload, sign(null, payload, master.identity.privateKey));
  assert.is(refused(forged).code, 'BAD_SIGNATURE');
});

test('an agent key signing a scheduler call is refused as WRONG_ROLE', () => {
  const error = refused(agent.signer.seal('scheduler.call', schedulerCalls[1]!));
  assert.is(error.code, 'WRONG_ROLE');
  assert.match(error.message, 'framework');
});

test('a framework key signing an agent event is refused as WRONG_ROLE', () => {
  assert.is(refused(framework.signer.seal('agent.event', agentEvents[7]!)).code, 'WRONG_ROLE');
});

test('the same envelope opened twice is refused the second time as REPLAYED', () => {
  const replay = new ReplayGuard();
  const bytes = agent.signer.seal('agent.call', agentCalls[2]!);
  assert.ok(open(bytes, trust, replay, { nowMs: clock.nowMs() }).ok);
  assert.is(refused(bytes, replay).code, 'REPLAYED');
});

test('a restarted sender (new session) starts its sequence again', () => {
  const replay = new ReplayGuard();
  const first = new Signer(agent.identity, { clock });
  const second = new Signer(agent.identity, { clock });
  assert.ok(open(first.seal('agent.call', agentCalls[2]!), trust, replay, { nowMs: START_MS }).ok);
  assert.ok(open(second.seal('agent.call', agentCalls[2]!), trust, replay, { nowMs: START_MS }).ok);
  assert.is(second.lastSeq, 1);
});

test('a message older or newer than the skew window is refused as STALE', () => {
  const bytes = agent.signer.seal('agent.call', agentCalls[2]!);
  assert.is(refused(bytes, new ReplayGuard(), START_MS + 30_001).code, 'STALE');
  assert.is(refused(bytes, new ReplayGuard(), START_MS - 30_001).code, 'STALE');
  assert.ok(open(bytes, trust, new ReplayGuard(), { nowMs: START_MS + 30_000 }).ok);
});

test('an envelope over envelopeBytesMax is refused as TOO_LARGE before anything else', () => {
  const bytes = agent.signer.seal('agent.call', agentCalls[1]!);
  const result = open(bytes, trust, new ReplayGuard(), { nowMs: START_MS, envelopeBytesMax: 100 });
  assert.is(result.ok ? undefined : result.error.code, 'TOO_LARGE');
  assert.is(refused(new Uint8Array(2 * 1024 * 1024)).code, 'TOO_LARGE');
});

test('a signed body that fails its schema is refused as SCHEMA naming the field', () => {
  const bytes = sealRaw(agent.identity, 'agent.call', {
    type: 'HEARTBEAT',
    heartbeat: { agent_id: { value: 7 } },
  });
  const error = refused(bytes);
  assert.is(error.code, 'SCHEMA');
  assert.match(error.message, 'body.heartbeat.agent_id.value');
});

test('an unknown field in a body is refused as SCHEMA', () => {
  const bytes = sealRaw(agent.identity, 'agent.call', {
    type: 'HEARTBEAT',
    heartbeat: { agent_id: { value: 'a' } },
    extra: true,
  });
  const error = refused(bytes);
  assert.is(error.code, 'SCHEMA');
  assert.match(error.message, 'extra');
});

test('an unknown message type is refused as SCHEMA', () => {
  assert.is(refused(sealRaw(agent.identity, 'agent.gossip', {})).code, 'SCHEMA');
});

test('a type not accepted by the caller is refused without consuming its seq', () => {
  const replay = new ReplayGuard();
  const bytes = agent.signer.seal('agent.call', agentCalls[2]!);
  const result = open(bytes, trust, replay, { nowMs: START_MS, types: ['scheduler.call'] });
  assert.is(result.ok ? undefined : result.error.code, 'SCHEMA');
  assert.ok(open(bytes, trust, replay, { nowMs: START_MS }).ok);
});

test('an envelope with an extra payload field is refused as MALFORMED', () => {
  const bytes = sealRaw(agent.identity, 'agent.call', agentCalls[2]!, { extra: 1 });
  const error = refused(bytes);
  assert.is(error.code, 'MALFORMED');
  assert.match(error.message, 'extra');
});

test('a payload of the wrong version is refused as MALFORMED', () => {
  assert.is(
    refused(sealRaw(agent.identity, 'agent.call', agentCalls[2]!, { v: 2 })).code,
    'MALFORMED',
  );
});

test('a payload using indefinite lengths is refused as MALFORMED even when signed', () => {
  const payload = new Encoder({ useRecords: false }).encode({ a: 1 });
  const indefinite = Uint8Array.of(0xbf, ...payload.subarray(1), 0xff);
  const bytes = wrap(indefinite, sign(null, indefinite, agent.identity.privateKey));
  assert.is(refused(bytes).code, 'MALFORMED');
});

test('sealing an invalid body is a bug and throws', () => {
  const invalid = { type: 'HEARTBEAT', heartbeat: {} } as unknown as MessageBody<'agent.call'>;
  assert.throws(() => agent.signer.seal('agent.call', invalid), /invalid agent.call/);
});

test('optional fields set to undefined are left out of the envelope', () => {
  const body = { type: 'SUPPRESS', framework_id: { value: 'f' }, suppress: undefined } as const;
  const message = opened(framework.signer.seal('scheduler.call', body));
  assert.equal(Object.keys(message.body), ['type', 'framework_id']);
});

let rawSeq = 1000;
/** Seals without the Signer's checks, to forge the envelopes a buggy or hostile peer could send. */
function sealRaw(
  identity: Identity,
  type: string,
  body: unknown,
  extra: Record<string, unknown> = {},
): Uint8Array {
  const encoder = new Encoder({ useRecords: false, variableMapSize: true });
  const payload = encoder.encode({
    v: 1,
    type,
    sender: identity.keyId,
    sid: 'raw',
    seq: rawSeq++,
    ts: START_MS,
    body,
    ...extra,
  });
  return wrap(payload, sign(null, payload, identity.privateKey));
}

function unwrapOrThrow(bytes: Uint8Array): { payload: Uint8Array; sig: Uint8Array } {
  const result = unwrap(bytes);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

test.run();
