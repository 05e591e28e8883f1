import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentSpec } from '../../../master/core/messages.js';
import { Resources } from '../../../master/core/resources.js';
import { MasterHarness } from './master-harness.js';

const noRoot = {
  runtime: 'linux' as const,
  cause: 'unsupported' as const,
  reason: 'not running as root (uid 1000)',
};

function spec(extra: Partial<AgentSpec> = {}): AgentSpec {
  return {
    hostname: 'h1',
    resources: Resources.of({ cpus: 4, mem: 4096 }),
    runtimes: ['wasm'],
    attributes: {},
    ...extra,
  };
}

function register(h: MasterHarness, agent: AgentSpec) {
  return h.step({ kind: 'registerAgent', keyId: 'key-h1', agent });
}

test('a registered agent keeps the runtimes it cannot offer and why, for operators', () => {
  const h = new MasterHarness();
  const result = register(h, spec({ unavailableRuntimes: [noRoot] }));
  assert.ok(result.ok);
  const agent = [...h.core.view().agents.values()][0]!;
  assert.equal(agent.runtimes, ['wasm']);
  assert.equal(agent.unavailableRuntimes, [noRoot]);
});

test('an agent that says nothing has no unavailable runtimes', () => {
  const h = new MasterHarness();
  assert.ok(register(h, spec()).ok);
  assert.equal([...h.core.view().agents.values()][0]!.unavailableRuntimes, []);
});

test('re-registration replaces the list (linux became available after a fix)', () => {
  const h = new MasterHarness();
  assert.ok(register(h, spec({ unavailableRuntimes: [noRoot] })).ok);
  const agentId = [...h.core.view().agents.keys()][0]!;
  const again = h.step({
    kind: 'reregisterAgent',
    keyId: 'key-h1',
    agentId,
    agent: spec({ runtimes: ['wasm', 'linux'] }),
    tasks: [],
  });
  assert.ok(again.ok);
  const agent = h.core.view().agents.get(agentId)!;
  assert.equal(agent.runtimes, ['wasm', 'linux']);
  assert.equal(agent.unavailableRuntimes, []);
});

test('a runtime both offered and unavailable, or listed twice, is refused and changes nothing', () => {
  const h = new MasterHarness();
  const both = register(h, spec({ runtimes: ['wasm', 'linux'], unavailableRuntimes: [noRoot] }));
  assert.is(!both.ok && both.error.code, 'invalid');
  const twice = register(h, spec({ unavailableRuntimes: [noRoot, noRoot] }));
  assert.is(!twice.ok && twice.error.code, 'invalid');
  assert.is(h.core.view().agents.size, 0);
});

test.run();
