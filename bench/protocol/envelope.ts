/**
 * Envelope throughput on one core, beside bare node:crypto Ed25519 on the same payload bytes.
 *
 *   npx tsc -p . && node dist/bench/protocol/envelope.js [--seconds N] [--rounds N]
 *
 * Prints seals/s and opens/s (unwrap + strict CBOR check + decode + header checks + key lookup +
 * verify + role + skew + replay + body schema) for a typical status update, the bare sign/s and
 * verify/s, and open's cost relative to a bare verify (target: at most 1.25x). Each comparison
 * runs its two sides in alternating batches of 100 operations, so both see the same machine
 * load (the ratio stays meaningful on a busy machine even when the absolute rates do not); the
 * best of several rounds is kept.
 */
import { sign, verify } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ManualClock } from '../../lib/clock.js';
import {
  encodeCbor,
  generateIdentity,
  open,
  ReplayGuard,
  Signer,
  TrustStore,
  unwrap,
  type AgentCall,
} from '../../protocol/index.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } },
});
const roundMs = Number(values.seconds) * 1000;
const rounds = Number(values.rounds);
const BATCH = 100;

/** A status update as an agent sends it: the message the control plane carries most. */
const statusUpdate: AgentCall = {
  type: 'STATUS_UPDATE',
  status_update: {
    update: {
      framework_id: { value: 'fw-7c1e' },
      agent_id: { value: 'agent-0001' },
      status: {
        task_id: { value: 'task-42' },
        state: 'TASK_RUNNING',
        uuid: 'q83vEjRWeJCrze8SNFZ4kA==',
        timestamp: 1_767_225_600.123,
      },
    },
  },
};

const nowMs = 1_767_225_600_000;
const clock = new ManualClock(nowMs);
const identity = generateIdentity();
const trust = new TrustStore([{ publicKey: identity.publicKey, role: 'agent', name: 'bench' }]);
const sealer = new Signer(identity, { clock });
// Distinct envelopes (fresh seqs), sealed once; a new replay guard for each pass over them, so
// every open takes the full path (replay record and body schema included).
const envelopeCount = 2000;
const envelopes = Array.from({ length: envelopeCount }, () =>
  sealer.seal('agent.call', statusUpdate),
);
const sample = envelopes[0]!;
const unwrapped = unwrap(sample);
if (!unwrapped.ok) throw new Error(unwrapped.error);
const { payload, sig } = unwrapped.value;

type Step = (index: number) => void;

const bareSign: Step = () => sign(null, payload, identity.privateKey);
const bareVerify: Step = () => {
  if (!verify(null, payload, identity.publicKey, sig)) throw new Error('bad signature');
};
const seal: Step = () => sealer.seal('agent.call', statusUpdate);
let replay = new ReplayGuard();
const openOne: Step = (index) => {
  if (index % envelopeCount === 0) replay = new ReplayGuard();
  const result = open(envelopes[index % envelopeCount]!, trust, replay, { nowMs });
  if (!result.ok) throw new Error(result.error.message);
};

/** Runs two steps in alternating batches for durationMs; returns each one's operations/s. */
function paired(left: Step, right: Step, durationMs: number): [number, number] {
  const spentNs = [0n, 0n];
  let done = 0;
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() - started < BigInt(durationMs) * 1_000_000n) {
    for (const [side, step] of [left, right].entries()) {
      const batchStart = process.hrtime.bigint();
      for (let index = done; index < done + BATCH; index++) step(index);
      spentNs[side]! += process.hrtime.bigint() - batchStart;
    }
    done += BATCH;
  }
  return [(done * 1e9) / Number(spentNs[0]), (done * 1e9) / Number(spentNs[1])];
}

paired(bareSign, seal, 300); // warm up: JIT, caches
paired(bareVerify, openOne, 300);
const best = { sign: 0, seal: 0, verify: 0, open: 0, openRatio: Infinity, sealRatio: Infinity };
for (let round = 0; round < rounds; round++) {
  const [signRate, sealRate] = paired(bareSign, seal, roundMs / 2);
  const [verifyRate, openRate] = paired(bareVerify, openOne, roundMs / 2);
  best.sign = Math.max(best.sign, signRate);
  best.seal = Math.max(best.seal, sealRate);
  best.verify = Math.max(best.verify, verifyRate);
  best.open = Math.max(best.open, openRate);
  best.sealRatio = Math.min(best.sealRatio, signRate / sealRate);
  best.openRatio = Math.min(best.openRatio, verifyRate / openRate);
}

const line = (name: string, perSecond: number) =>
  `${name.padEnd(12)} ${Math.round(perSecond).toLocaleString('en-US').padStart(9)}/s  ${(1e6 / perSecond).toFixed(1).padStart(6)} µs`;
console.log(
  `status update: body ${encodeCbor(statusUpdate).length} bytes, payload ${payload.length}, envelope ${sample.length}; node ${process.version}`,
);
console.log(`best of ${rounds} rounds of ${roundMs} ms, one core`);
console.log(line('bare sign', best.sign));
console.log(line('seal', best.seal));
console.log(line('bare verify', best.verify));
console.log(line('open', best.open));
console.log(`open / bare verify: ${best.openRatio.toFixed(2)}x (target <= 1.25x)`);
console.log(`seal / bare sign:   ${best.sealRatio.toFixed(2)}x`);
