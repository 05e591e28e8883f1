import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveWasmSpec } from '../../agent/core/wasm-spec.js';
import { parseAttributes, parseResources } from '../../agent/options.js';
import type { TaskInfo } from '../../protocol/messages/task.js';
import { fuelForTimeoutMs } from '../../wasi-executor/limits.js';

const MiB = 1024 * 1024;
const defaults = { timeoutMs: 5000, hostPathsAllowed: ['/data'] };

function info(wasm: NonNullable<TaskInfo['wasm']>, mem = 64): TaskInfo {
  return {
    name: 't',
    task_id: { value: 't' },
    agent_id: { value: 'a' },
    resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: mem } }],
    wasm,
  };
}
const digest = `sha256:${'0'.repeat(64)}`;

test('--resources and --attributes parse, and bad text is refused with the part named', () => {
  const resources = parseResources('cpus:2; mem:4096');
  assert.ok(resources.ok);
  assert.equal(resources.value, { cpus: 2, mem: 4096 });
  const bad = parseResources('cpus=2');
  assert.ok(!bad.ok && bad.error.includes('cpus=2'));
  const attributes = parseAttributes('zone:edge-1;rack:3');
  assert.ok(attributes.ok);
  assert.equal(attributes.value, [
    { name: 'zone', type: 'TEXT', text: { value: 'edge-1' } },
    { name: 'rack', type: 'SCALAR', scalar: { value: 3 } },
  ]);
});

test('fuel: wasm.fuel, else a fuel resource, else what the task timeout allows', () => {
  const named = resolveWasmSpec(info({ digest, fuel: 1234 }), '/sb', defaults);
  assert.ok(named.ok && named.value.fuel === 1234);
  const fromTimeout = resolveWasmSpec(info({ digest, timeout_ms: 2000 }), '/sb', defaults);
  assert.ok(fromTimeout.ok);
  assert.equal(fromTimeout.value.fuel, fuelForTimeoutMs(2000));
  const fromDefaultTimeout = resolveWasmSpec(info({ digest }), '/sb', defaults);
  assert.ok(fromDefaultTimeout.ok);
  assert.equal(fromDefaultTimeout.value.fuel, fuelForTimeoutMs(defaults.timeoutMs));
  assert.ok(fuelForTimeoutMs(2000) < fuelForTimeoutMs(defaults.timeoutMs));
});

test('a wasm task memory is capped by its mem resource; memory_bytes may only lower it', () => {
  const capped = resolveWasmSpec(info({ digest, memory_bytes: 1024 * MiB }), '/sb', defaults);
  assert.ok(capped.ok);
  assert.is(capped.value.memoryBytesMax, 64 * MiB);
  const lower = resolveWasmSpec(info({ digest, memory_bytes: 16 * MiB }), '/sb', defaults);
  assert.ok(lower.ok && lower.value.memoryBytesMax === 16 * MiB);
  assert.ok(lower.ok && lower.value.timeoutMs === 5000);
});

test('relative grants are confined to the sandbox; absolute ones need an allowed host path', () => {
  const ok = resolveWasmSpec(
    info({ digest, permissions: { read: ['in', '/data/x'], write: ['out', 'in'] } }),
    '/sb',
    defaults,
  );
  assert.ok(ok.ok);
  assert.equal(ok.value.preopens, [
    { hostPath: '/sb/in', guestPath: 'in', writable: true },
    { hostPath: '/data/x', guestPath: '/data/x', writable: false },
    { hostPath: '/sb/out', guestPath: 'out', writable: true },
  ]);
  assert.not.ok(
    resolveWasmSpec(info({ digest, permissions: { read: ['../etc'] } }), '/sb', defaults).ok,
  );
  assert.not.ok(
    resolveWasmSpec(info({ digest, permissions: { read: ['/etc'] } }), '/sb', defaults).ok,
  );
  assert.not.ok(
    resolveWasmSpec(info({ digest, permissions: { write: ['/data/../etc'] } }), '/sb', defaults).ok,
  );
  assert.not.ok(
    resolveWasmSpec(info({ digest, permissions: { read: ['/database'] } }), '/sb', defaults).ok,
  );
});

test.run();
