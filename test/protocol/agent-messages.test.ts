import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../lib/clock.js';
import {
  AgentCall,
  AgentEvent,
  agentBatchLimits,
  generateIdentity,
  open,
  ReplayGuard,
  Signer,
  TrustStore,
} from '../../protocol/index.js';
import { fieldLimits } from '../../protocol/limits.js';

const agentInfo = {
  hostname: 'node-1',
  resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 2 } }],
  attributes: [],
  runtimes: ['wasm' as const],
  version: '0.1.0',
};

const unsupported = {
  runtime: 'linux' as const,
  cause: 'unsupported' as const,
  reason: 'not running as root (uid 1000)',
};

test('REGISTER and REREGISTER carry the runtimes an agent does not offer, and why', () => {
  const register = AgentCall.safeParse({
    type: 'REGISTER',
    register: { agent_info: agentInfo, unavailable_runtimes: [unsupported] },
  });
  assert.ok(register.success);
  assert.equal(register.data.type === 'REGISTER' && register.data.register.unavailable_runtimes, [
    unsupported,
  ]);
  const reregister = AgentCall.safeParse({
    type: 'REREGISTER',
    reregister: {
      agent_id: { value: 'a1' },
      agent_info: agentInfo,
      tasks: [],
      unavailable_runtimes: [{ runtime: 'linux', cause: 'disabled', reason: 'not in --runtimes' }],
    },
  });
  assert.ok(reregister.success);
});

test('the list is optional: an older agent without it still registers', () => {
  assert.ok(AgentCall.safeParse({ type: 'REGISTER', register: { agent_info: agentInfo } }).success);
});

test('bad entries are refused: unknown runtime or cause, empty or oversized reason, duplicates, too many', () => {
  const withList = (list: unknown) =>
    AgentCall.safeParse({
      type: 'REGISTER',
      register: { agent_info: agentInfo, unavailable_runtimes: list },
    }).success;
  assert.not.ok(withList([{ ...unsupported, runtime: 'docker' }]), 'unknown runtime');
  assert.not.ok(withList([{ ...unsupported, cause: 'broken' }]), 'unknown cause');
  assert.not.ok(withList([{ ...unsupported, reason: '' }]), 'empty reason');
  assert.not.ok(
    withList([{ ...unsupported, reason: 'x'.repeat(fieldLimits.messageCharsMax + 1) }]),
    'reason over messageCharsMax',
  );
  assert.ok(withList([{ ...unsupported, reason: 'x'.repeat(fieldLimits.messageCharsMax) }]));
  assert.not.ok(withList([unsupported, unsupported]), 'a runtime listed twice');
  assert.not.ok(
    withList(Array.from({ length: fieldLimits.runtimesMax + 1 }, () => unsupported)),
    'over runtimesMax entries',
  );
  assert.not.ok(withList([{ ...unsupported, extra: 1 }]), 'unknown field');
});

test('a signed REGISTER with unavailable runtimes opens on the other side unchanged', () => {
  const clock = new ManualClock(1_767_225_600_000);
  const identity = generateIdentity();
  const trust = new TrustStore([{ publicKey: identity.publicKey, role: 'agent', name: 'a' }]);
  const call = {
    type: 'REGISTER' as const,
    register: { agent_info: agentInfo, unavailable_runtimes: [unsupported] },
  };
  const bytes = new Signer(identity, { clock }).seal('agent.call', call);
  const opened = open(bytes, trust, new ReplayGuard(), { nowMs: clock.nowMs() });
  assert.ok(opened.ok);
  assert.equal(opened.value.body, call);
});

const statusUpdate = (index: number) => ({
  framework_id: { value: 'fw' },
  agent_id: { value: 'a1' },
  status: {
    task_id: { value: `t${index}` },
    state: 'TASK_FINISHED' as const,
    uuid: Buffer.from(`uuid-${String(index).padStart(11, '0')}`).toString('base64'),
  },
});
const updatesCall = (updates: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'STATUS_UPDATES',
  status_updates: { agent_id: { value: 'a1' }, updates, ...extra },
});

test('STATUS_UPDATES carries 1 to statusUpdatesPerCallMax updates', () => {
  const max = agentBatchLimits.statusUpdatesPerCallMax;
  const full = Array.from({ length: max }, (_, index) => statusUpdate(index));
  assert.ok(AgentCall.safeParse(updatesCall([statusUpdate(0)])).success);
  assert.ok(AgentCall.safeParse(updatesCall(full)).success);
  const over = AgentCall.safeParse(updatesCall([...full, statusUpdate(max)]));
  assert.not.ok(over.success, 'one over the limit');
  assert.match(JSON.stringify(over.error?.issues), /updates/);
  assert.not.ok(AgentCall.safeParse(updatesCall([])).success, 'empty');
  assert.not.ok(AgentCall.safeParse(updatesCall([statusUpdate(0)], { extra: 1 })).success);
  const noUuid = { ...statusUpdate(1), status: { task_id: { value: 't' }, state: 'TASK_RUNNING' } };
  assert.not.ok(AgentCall.safeParse(updatesCall([noUuid])).success, 'an update without uuid');
});

test('ACKNOWLEDGE_UPDATES carries 1 to acknowledgementsPerEventMax acknowledgements', () => {
  const ack = (index: number) => ({
    framework_id: { value: 'fw' },
    task_id: { value: `t${index}` },
    uuid: statusUpdate(index).status.uuid,
  });
  const event = (acknowledgements: unknown[]) => ({
    type: 'ACKNOWLEDGE_UPDATES',
    acknowledge_updates: { acknowledgements },
  });
  const max = agentBatchLimits.acknowledgementsPerEventMax;
  const full = Array.from({ length: max }, (_, index) => ack(index));
  assert.ok(AgentEvent.safeParse(event(full)).success);
  assert.not.ok(AgentEvent.safeParse(event([...full, ack(max)])).success, 'one over the limit');
  assert.not.ok(AgentEvent.safeParse(event([])).success, 'empty');
  assert.not.ok(AgentEvent.safeParse(event([{ ...ack(0), extra: 1 }])).success, 'unknown field');
});

test('a Signer refuses to seal an oversized STATUS_UPDATES', () => {
  const signer = new Signer(generateIdentity());
  const over = Array.from({ length: agentBatchLimits.statusUpdatesPerCallMax + 1 }, (_, index) =>
    statusUpdate(index),
  );
  assert.throws(() => signer.seal('agent.call', updatesCall(over) as AgentCall));
});

test.run();
