import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  candidatesInOrder,
  decodeMasterInfo,
  encodeMasterInfo,
  leaderOf,
  predecessorOf,
} from '../../../master/election/layout.js';
import { electionTimings } from '../../../master/election/limits.js';

const children = ['info_0000000012', 'junk', 'info_0000000003', 'info_0000000007', 'info_12'];

test('candidates sort by sequence number; other names are ignored', () => {
  assert.equal(candidatesInOrder(children), [
    'info_0000000003',
    'info_0000000007',
    'info_0000000012',
  ]);
  assert.is(leaderOf(children), 'info_0000000003');
  assert.is(leaderOf(['junk']), undefined);
});

test('each candidate watches only the one just before it; the lowest watches none', () => {
  assert.is(predecessorOf(children, 'info_0000000003'), undefined);
  assert.is(predecessorOf(children, 'info_0000000007'), 'info_0000000003');
  assert.is(predecessorOf(children, 'info_0000000012'), 'info_0000000007');
  assert.throws(() => predecessorOf(children, 'info_0000000099'), /gone/);
});

test('master info round-trips and malformed or oversized info is rejected', () => {
  const info = { id: 'm1', address: 'http://127.0.0.1:5050', publicKey: 'ed25519:abc' };
  assert.equal(decodeMasterInfo(encodeMasterInfo(info), 4096), { ok: true, value: info });
  assert.is(decodeMasterInfo(new TextEncoder().encode('{"id":1}'), 4096).ok, false);
  assert.is(decodeMasterInfo(new TextEncoder().encode('not json'), 4096).ok, false);
  assert.is(decodeMasterInfo(encodeMasterInfo(info), 10).ok, false);
});

test('the leader lease ends well before ZooKeeper can expire the session', () => {
  const timings = electionTimings(4000);
  assert.ok(timings.leaseMs < 4000);
  assert.ok(timings.probeIntervalMs * 3 <= timings.leaseMs);
  assert.throws(() => electionTimings(10));
});

test.run();
