import {
  open,
  RecordIoDecoder,
  type MessageBody,
  type MessageType,
  type ReplayGuard,
  type TrustStore,
} from '../../../protocol/index.js';

/**
 * The verified events of a master's stream (SUBSCRIBE or REGISTER answer), in order: RecordIO
 * records, each an envelope of `type` opened against the master's keys with `replay` (one per
 * stream). Throws on bad framing or a refused event, as a real client drops such a stream; the
 * bench framework and the simulated agent read their streams this way.
 */
export async function* masterEvents<T extends MessageType>(
  body: ReadableStream<Uint8Array>,
  masterTrust: TrustStore,
  replay: ReplayGuard,
  type: T,
): AsyncGenerator<MessageBody<T>> {
  const decoder = new RecordIoDecoder();
  const reader = body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    const records = decoder.push(chunk.value);
    if (!records.ok) throw new Error(`bad RecordIO: ${records.error.message}`);
    for (const record of records.value) {
      const opened = open(record, masterTrust, replay, { nowMs: Date.now(), types: [type] });
      if (!opened.ok) throw new Error(`event refused: ${opened.error.message}`);
      if (opened.value.type === type) yield opened.value.body as MessageBody<T>;
    }
  }
}
