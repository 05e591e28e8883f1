/** Mesos Resource lists to and from exact resource sets, as both the agent and scheduler channels map them. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentInfo, Resource, TaskInfo } from '../../../protocol/index.js';
import { Resources } from '../../../master/core/resources.js';
import { resourcesFromWire, resourcesToWire } from '../../../master/http/wire-resources.js';
import { agentSpecFromWire } from '../../../master/server/agent-codec.js';
import { taskLaunchOf } from '../../../master/server/scheduler-mapping.js';

const refusal = (list: Resource[]): string => {
  const parsed = resourcesFromWire(list);
  assert.ok(!parsed.ok, `refused: ${JSON.stringify(list)}`);
  return parsed.error;
};

test('exact both ways: scalars by name, then range lists by name', () => {
  const parsed = resourcesFromWire([
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
  ]);
  assert.ok(parsed.ok);
  assert.ok(parsed.value.equals(Resources.of({ cpus: 0.1, mem: 64, ports: [[1, 2]] })));
  assert.equal(resourcesToWire(parsed.value), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
  ]);
  assert.equal(resourcesFromWire(resourcesToWire(parsed.value)), parsed);
  assert.equal(resourcesToWire(Resources.empty), []);
});

test('ranges are sorted and coalesced; zero scalars and empty range lists drop out', () => {
  const parsed = resourcesFromWire([
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0 } },
    {
      name: 'ports',
      type: 'RANGES',
      ranges: {
        range: [
          { begin: 31005, end: 31009 },
          { begin: 31000, end: 31004 },
        ],
      },
    },
    { name: 'other', type: 'RANGES', ranges: { range: [] } },
  ]);
  assert.ok(parsed.ok);
  assert.equal(resourcesToWire(parsed.value), [
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31009 }] } },
  ]);
});

test('refused: a name twice, SET and TEXT, a type without its value, bad values', () => {
  assert.match(
    refusal([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
    ]),
    /'cpus' is listed twice/,
  );
  assert.match(refusal([{ name: 'disks', type: 'SET', set: { item: ['a'] } }]), /SET resources/);
  assert.match(refusal([{ name: 'zone', type: 'TEXT' }]), /TEXT resources/);
  assert.match(refusal([{ name: 'cpus', type: 'SCALAR' }]), /has no 'scalar'/);
  assert.match(refusal([{ name: 'ports', type: 'RANGES' }]), /has no 'ranges'/);
  refusal([{ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }]);
  refusal([{ name: 'Bad Name', type: 'SCALAR', scalar: { value: 1 } }]);
  refusal([
    {
      name: 'ports',
      type: 'RANGES',
      ranges: {
        range: [
          { begin: 1, end: 5 },
          { begin: 4, end: 9 },
        ],
      },
    },
  ]);
});

test('the agent and scheduler channels refuse a bad list with the same reason', () => {
  const bad: Resource[] = [{ name: 'ports', type: 'RANGES' }];
  const reason = refusal(bad);
  const info: AgentInfo = {
    hostname: 'h',
    resources: bad,
    attributes: [],
    runtimes: ['wasm'],
    version: '1',
  };
  const agent = agentSpecFromWire(info, undefined);
  assert.ok(!agent.ok);
  assert.is(agent.error, reason);
  const task: TaskInfo = {
    name: 't',
    task_id: { value: 't1' },
    agent_id: { value: 'a1' },
    resources: bad,
    wasm: { digest: `sha256:${'0'.repeat(64)}` },
  };
  const launch = taskLaunchOf(task);
  assert.ok(!launch.ok);
  assert.is(launch.error.message, `task t1: ${reason}`);
});

test.run();
