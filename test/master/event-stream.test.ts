import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RecordIoDecoder } from '../../protocol/index.js';
import { EventStream } from '../../master/http/event-stream.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

test('delivers each record as one RecordIO chunk, in order', async () => {
  const stream = new EventStream(10);
  assert.is(stream.send(bytes('first')), 'sent');
  assert.is(stream.send(bytes('second')), 'sent');
  stream.close();
  const reader = stream.body.getReader();
  const decoder = new RecordIoDecoder();
  const chunks: string[] = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const records = decoder.push(read.value);
    assert.ok(records.ok);
    assert.is(records.value.length, 1, 'one record per chunk');
    chunks.push(text(records.value[0]!));
  }
  assert.equal(chunks, ['first', 'second']);
});

test('cuts off a client that falls behind its bound instead of buffering', () => {
  const stream = new EventStream(2);
  let closedTimes = 0;
  stream.onClose(() => closedTimes++);
  assert.is(stream.send(bytes('a')), 'sent');
  assert.is(stream.send(bytes('b')), 'sent');
  assert.is(stream.send(bytes('c')), 'overflow');
  assert.is(stream.isOpen, false);
  assert.is(stream.send(bytes('d')), 'closed');
  assert.is(closedTimes, 1);
});

test('a client cancelling the body closes the stream and tells the listeners once', async () => {
  const stream = new EventStream(4);
  let closedTimes = 0;
  stream.onClose(() => closedTimes++);
  await stream.body.cancel();
  stream.close();
  assert.is(closedTimes, 1);
  assert.is(stream.send(bytes('late')), 'closed');
  let lateListener = false;
  stream.onClose(() => (lateListener = true));
  assert.is(lateListener, true);
});

test.run();
