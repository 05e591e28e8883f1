/**
 * Reading the event streams a master answers with (the scheduler's and the agent channel's):
 * RecordIO framing around envelopes the master signs. The test clients (e2e framework, raw
 * agent, scheduler harness) each read one; this is the one way they decode and verify it, so a
 * test never trusts an event the master did not sign.
 */
import * as assert from 'uvu/assert';
import {
  open,
  RecordIoDecoder,
  type MessageBody,
  type MessageType,
  type ReplayGuard,
  type TrustStore,
} from '../../protocol/index.js';

/**
 * Reads a RecordIO body to its end, handing over each record as it arrives; asserts the
 * framing is valid. Whatever the reader throws (an abort, a connection the master dropped, a
 * failed assertion) goes to the caller: each client decides what an ended stream means to it.
 */
export async function readRecords(
  body: ReadableStream<Uint8Array>,
  onRecord: (record: Uint8Array) => void,
): Promise<void> {
  const decoder = new RecordIoDecoder();
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const records = decoder.push(read.value);
    assert.ok(records.ok, 'the stream is valid RecordIO');
    for (const record of records.value) onRecord(record);
  }
}

/**
 * Opens one record of a master's event stream; asserts that it is an envelope of `type`,
 * signed by a master key of `masterTrust`, fresh and not replayed (against `replay`, one per
 * stream reader), and returns its body.
 */
export function openMasterEvent<T extends MessageType>(
  record: Uint8Array,
  masterTrust: TrustStore,
  replay: ReplayGuard,
  type: T,
): MessageBody<T> {
  const opened = open(record, masterTrust, replay, { nowMs: Date.now(), types: [type] });
  assert.ok(opened.ok, opened.ok ? '' : `event refused: ${opened.error.message}`);
  assert.is(opened.value.signer.role, 'master', 'the event is signed by a master');
  assert.is(opened.value.type, type);
  return opened.value.body as MessageBody<T>;
}
