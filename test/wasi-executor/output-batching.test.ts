import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OUTPUT_BATCH_BYTES,
  OUTPUT_FLUSH_INTERVAL_MS,
  OutputBatcher,
  type OutputStream,
} from '../../wasi-executor/worker/context.js';

interface Sent {
  readonly stream: OutputStream;
  readonly text: string;
  readonly truncated: boolean;
}

function batcher() {
  let nowMs = 1000;
  const sent: Sent[] = [];
  const output = new OutputBatcher(
    (stream, bytes, truncated) =>
      sent.push({ stream, text: Buffer.from(bytes).toString(), truncated }),
    () => nowMs,
  );
  const write = (stream: OutputStream, text: string, truncated = false) =>
    output.write(stream, new TextEncoder().encode(text), truncated);
  return { output, sent, write, advance: (ms: number) => (nowMs += ms) };
}

test('a write after a quiet spell goes out at once; a burst is held and sent as one message', () => {
  const { output, sent, write, advance } = batcher();
  write('stdout', 'first\n');
  assert.equal(sent, [{ stream: 'stdout', text: 'first\n', truncated: false }]);
  for (let index = 0; index < 1000; index++) write('stdout', 'x');
  write('stderr', 'oops');
  assert.is(sent.length, 1, 'the burst is held');
  advance(OUTPUT_FLUSH_INTERVAL_MS);
  output.flushIfDue();
  assert.equal(sent.slice(1), [
    { stream: 'stdout', text: 'x'.repeat(1000), truncated: false },
    { stream: 'stderr', text: 'oops', truncated: false },
  ]);
  output.flushIfDue();
  assert.is(sent.length, 3, 'nothing pending: nothing sent');
});

test('a full batch goes out without waiting; the end flushes the rest', () => {
  const { output, sent, write } = batcher();
  write('stdout', 'a');
  const chunk = 'y'.repeat(1024);
  for (let index = 0; index < OUTPUT_BATCH_BYTES / 1024; index++) write('stdout', chunk);
  assert.is(sent.length, 2);
  assert.is(sent[1]!.text.length, OUTPUT_BATCH_BYTES);
  write('stdout', 'tail');
  assert.is(sent.length, 2);
  output.flush();
  assert.equal(sent[2], { stream: 'stdout', text: 'tail', truncated: false });
});

test('the first dropped byte is told at once, even with no bytes kept', () => {
  const { sent, write } = batcher();
  write('stdout', 'a');
  write('stdout', 'b');
  write('stdout', '', true);
  assert.equal(sent, [
    { stream: 'stdout', text: 'a', truncated: false },
    { stream: 'stdout', text: 'b', truncated: true },
  ]);
});

test('held bytes are copies: the guest may reuse its buffer before the flush', () => {
  const { output, sent } = batcher();
  const memory = new TextEncoder().encode('one');
  output.write('stdout', memory, false);
  const view = new TextEncoder().encode('two');
  output.write('stdout', view, false);
  view.set(new TextEncoder().encode('XXX'));
  output.flush();
  assert.equal(
    sent.map((each) => each.text),
    ['one', 'two'],
  );
});

test.run();
