import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unavailableRuntimes } from '../../agent/core/runtimes.js';
import { fieldLimits } from '../../protocol/limits.js';
import { AgentCall } from '../../protocol/messages/agent.js';

test('a runtime the operator left out is disabled, with the runtimes asked for', () => {
  assert.equal(unavailableRuntimes(['wasm'], new Set(['wasm']), {}), [
    {
      runtime: 'linux',
      cause: 'disabled',
      reason: "not in the agent's runtimes (--runtimes wasm)",
    },
  ]);
});

test('a runtime the host cannot run is unsupported, with every reason the check found', () => {
  const found = unavailableRuntimes(undefined, new Set(['wasm']), {
    linux: ['not running as root (uid 1000)', 'unshare (util-linux) is not installed'],
  });
  assert.equal(found, [
    {
      runtime: 'linux',
      cause: 'unsupported',
      reason: 'not running as root (uid 1000); unshare (util-linux) is not installed',
    },
  ]);
  // Asked for explicitly and still missing: unsupported too (the host is why, not the operator).
  assert.is(unavailableRuntimes(['wasm', 'linux'], new Set(['wasm']), {})[0]?.cause, 'unsupported');
});

test('nothing is listed when every runtime is offered', () => {
  assert.equal(unavailableRuntimes(undefined, new Set(['wasm', 'linux']), {}), []);
});

test('a long multi-line reason becomes one line within the protocol bound and stays valid', () => {
  const [entry] = unavailableRuntimes(undefined, new Set(['wasm']), {
    linux: ['line one\nline two', 'x'.repeat(fieldLimits.messageCharsMax * 2)],
  });
  assert.ok(entry);
  assert.not.match(entry.reason, /\n/);
  assert.is(entry.reason.length, fieldLimits.messageCharsMax);
  const call = AgentCall.safeParse({
    type: 'REGISTER',
    register: {
      agent_info: {
        hostname: 'h',
        resources: [],
        attributes: [],
        runtimes: ['wasm'],
        version: '1',
      },
      unavailable_runtimes: [entry],
    },
  });
  assert.ok(call.success, 'the agent never sends what the master would refuse');
});

test.run();
