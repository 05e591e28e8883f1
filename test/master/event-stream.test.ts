import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RecordIoDecoder } from '../../protocol/index.js';
import { EventStream } from '../../master/http/event-stream.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Reads the body to its end: the records of each chunk. */
async function chunksOf(stream: EventStream): Promise<string[][]> {
  const reader = stream.body.getReader();
  const decoder = new RecordIoDecoder();
  const chunks: string[][] = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const records = decoder.push(read.value);
    assert.ok(records.ok);
    chunks.push(records.value.map(text));
  }
  return chunks;
}

test('delivers the records in order, those sent in one turn as one chunk', async () => {
  const stream = new EventStream(10);
  assert.is(stream.send(bytes('first')), 'sent');
  assert.is(stream.send(bytes('second')), 'sent');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(stream.send(bytes('third')), 'sent');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(stream.send(bytes('fourth')), 'sent');
  stream.close();
  assert.equal(await chunksOf(stream), [['first', 'second'], ['third'], ['fourth']]);
});

test('the bound counts records, also when they share chunks', async () => {
  const stream = new EventStream(3);
  assert.is(stream.send(bytes('a')), 'sent');
  assert.is(stream.send(bytes('b')), 'sent');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(stream.send(bytes('c')), 'sent');
  assert.is(stream.send(bytes('d')), 'overflow');
  assert.is(stream.isOpen, false);
  // What was sent before the cut still reaches the client.
  assert.equal((await chunksOf(stream)).flat(), ['a', 'b', 'c']);
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
