import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { sign } from 'node:crypto';
import { ManualClock } from '../../lib/clock.js';
import {
  generateIdentity,
  messageTypes,
  open,
  protocolErrorCodes,
  ReplayGuard,
  roles,
  Signer,
  TrustStore,
  wrap,
  type MessageType,
  type Role,
} from '../../protocol/index.js';
import { agentCalls, agentEvents, schedulerCalls, schedulerEvents } from './fixtures.js';

const START_MS = 1_767_225_600_000;
const clock = new ManualClock(START_MS);
const trust = new TrustStore();
const signers = new Map<Role, Signer>();
for (const role of roles) {
  const identity = generateIdentity();
  trust.add({ publicKey: identity.publicKey, role, name: role });
  signers.set(role, new Signer(identity, { clock }));
}
const agent = signers.get('agent')!;
const sample = agent.seal('agent.call', agentCalls[3]!);

function openFresh(bytes: Uint8Array) {
  return open(bytes, trust, new ReplayGuard(), { nowMs: START_MS });
}

function codeOf(bytes: Uint8Array): string {
  const result = openFresh(bytes);
  return result.ok ? 'OPENED' : result.error.code;
}

test('flipping any single bit of an envelope gets it refused with a typed error', () => {
  const allowed = new Set(['MALFORMED', 'UNKNOWN_KEY', 'BAD_SIGNATURE']);
  for (let bit = 0; bit < sample.length * 8; bit++) {
    const flipped = sample.slice();
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    const code = codeOf(flipped);
    if (!allowed.has(code)) assert.unreachable(`bit ${bit}: ${code}`);
  }
});

test('a truncated envelope is refused as MALFORMED', () => {
  fc.assert(
    fc.property(fc.nat({ max: sample.length - 1 }), (length) => {
      assert.is(codeOf(sample.subarray(0, length)), 'MALFORMED');
    }),
  );
});

test('an envelope with bytes appended is refused as MALFORMED', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (tail) => {
      const extended = new Uint8Array(sample.length + tail.length);
      extended.set(sample);
      extended.set(tail, sample.length);
      assert.is(codeOf(extended), 'MALFORMED');
    }),
  );
});

test('random bytes never throw and are refused with a known code', () => {
  const codes = new Set<string>(protocolErrorCodes);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512, size: 'max' }), (bytes) => {
      assert.ok(codes.has(codeOf(bytes)));
    }),
    { numRuns: 2000 },
  );
});

test('random payloads in a well-formed wrapper never throw', () => {
  const codes = new Set<string>(protocolErrorCodes);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300, size: 'max' }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      (payload, sig) => {
        assert.ok(codes.has(codeOf(wrap(payload, sig))));
      },
    ),
    { numRuns: 1000 },
  );
});

const encoder = new Encoder({ useRecords: false, variableMapSize: true });
const identity = generateIdentity();
trust.add({ publicKey: identity.publicKey, role: 'agent', name: 'fuzzer' });
let fuzzSeq = 1;

function signedPayload(value: unknown): Uint8Array {
  const payload = encoder.encode(value);
  return wrap(payload, sign(null, payload, identity.privateKey));
}

test('any signed CBOR value as a payload never throws and is refused unless it is a valid envelope', () => {
  fc.assert(
    fc.property(
      fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true }),
      (value) => {
        const result = openFresh(signedPayload(value));
        assert.is(result.ok, false);
      },
    ),
    { numRuns: 300 },
  );
});

test('any signed body for a known type never throws: it opens or is refused as SCHEMA', () => {
  const types = Object.keys(messageTypes) as MessageType[];
  fc.assert(
    fc.property(
      fc.constantFrom(...types),
      fc.anything({ withObjectString: true }),
      (type, body) => {
        const envelope = {
          v: 1,
          type,
          sender: identity.keyId,
          sid: 'fuzz',
          seq: fuzzSeq++,
          ts: START_MS,
          body,
        };
        const result = openFresh(signedPayload(envelope));
        if (!result.ok)
          assert.ok(['SCHEMA', 'WRONG_ROLE', 'MALFORMED'].includes(result.error.code));
      },
    ),
    { numRuns: 300 },
  );
});

test('every type signed by a role it does not allow is refused as WRONG_ROLE', () => {
  const examples: Record<MessageType, unknown> = {
    'scheduler.call': schedulerCalls[1],
    'scheduler.event': schedulerEvents[7],
    'agent.call': agentCalls[2],
    'agent.event': agentEvents[7],
    'master.replicate': { digest: `sha256:${'a'.repeat(64)}`, from: 'master-a', to: 'master-b' },
    'master.list_blobs': { from: 'master-a', to: 'master-b', limit: 10 },
  };
  for (const [type, spec] of Object.entries(messageTypes) as [
    MessageType,
    (typeof messageTypes)[MessageType],
  ][]) {
    for (const role of roles) {
      const signer = signers.get(role)!;
      const bytes = signer.seal(type, examples[type] as never);
      const expected = (spec.signers as readonly Role[]).includes(role) ? 'OPENED' : 'WRONG_ROLE';
      assert.is(codeOf(bytes), expected, `${type} signed by ${role}`);
    }
  }
});

test('a message is accepted exactly when its timestamp is within the skew window', () => {
  fc.assert(
    fc.property(fc.integer({ min: -120_000, max: 120_000 }), (offsetMs) => {
      const bytes = agent.seal('agent.call', agentCalls[2]!);
      const result = open(bytes, trust, new ReplayGuard(), { nowMs: START_MS + offsetMs });
      assert.is(
        result.ok ? 'OPENED' : result.error.code,
        Math.abs(offsetMs) <= 30_000 ? 'OPENED' : 'STALE',
      );
    }),
    { numRuns: 200 },
  );
});

test('replay guard accepts a seq exactly when it is new and inside the window (model check)', () => {
  const windowSeqs = 32;
  // A random walk of seqs: gaps, repeats, look-backs into and past the window, big jumps.
  const walk = fc
    .array(fc.integer({ min: -40, max: 40 }), { minLength: 50, maxLength: 400 })
    .map((steps) => {
      let cursor = 1;
      return steps.map((step) => (cursor = Math.max(1, cursor + step)));
    });
  fc.assert(
    fc.property(walk, (seqs) => {
      const guard = new ReplayGuard(16, windowSeqs);
      const seen = new Set<number>();
      let highest = 0;
      for (const seq of seqs) {
        const expected =
          seq <= highest - windowSeqs ? 'too_old' : seen.has(seq) ? 'duplicate' : 'fresh';
        assert.is(guard.check('wk_sender', 's1', seq, START_MS), expected);
        if (expected === 'fresh') {
          guard.record('wk_sender', 's1', seq, START_MS);
          seen.add(seq);
          highest = Math.max(highest, seq);
        }
      }
    }),
  );
});

test('replays are refused whatever the order of delivery', () => {
  fc.assert(
    fc.property(fc.shuffledSubarray([...Array(20).keys()], { minLength: 1 }), (order) => {
      const signer = new Signer(agent.identity, { clock });
      const envelopes = Array.from({ length: 20 }, () => signer.seal('agent.call', agentCalls[2]!));
      const replay = new ReplayGuard();
      for (const index of order) {
        assert.ok(open(envelopes[index]!, trust, replay, { nowMs: START_MS }).ok);
      }
      for (const index of order) {
        const result = open(envelopes[index]!, trust, replay, { nowMs: START_MS });
        assert.is(result.ok ? 'OPENED' : result.error.code, 'REPLAYED');
      }
    }),
    { numRuns: 20 },
  );
});

test('evicting a session does not reopen it to replays', () => {
  const replay = new ReplayGuard(2);
  const old = agent.seal('agent.call', agentCalls[2]!);
  assert.ok(open(old, trust, replay, { nowMs: START_MS }).ok);
  clock.advanceMs(10);
  for (const sid of ['s2', 's3']) {
    const bytes = new Signer(agent.identity, { clock, sid }).seal('agent.call', agentCalls[2]!);
    assert.ok(open(bytes, trust, replay, { nowMs: clock.nowMs() }).ok);
  }
  assert.is(replay.sessionsEvicted, 1);
  const result = open(old, trust, replay, { nowMs: clock.nowMs() });
  assert.is(result.ok ? 'OPENED' : result.error.code, 'REPLAYED');
  clock.advanceMs(10);
  const fresh = new Signer(agent.identity, { clock, sid: 's4' }).seal('agent.call', agentCalls[2]!);
  assert.ok(open(fresh, trust, replay, { nowMs: clock.nowMs() }).ok);
});

test.run();
