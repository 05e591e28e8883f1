import { verify } from 'node:crypto';
import { err, ok, type Result } from '../../lib/result.js';
import { decodeCbor } from '../cbor/codec.js';
import { protocolError, type ProtocolError } from '../errors.js';
import type { TrustedKey, TrustStore } from '../keys/trust.js';
import { protocolLimits } from '../limits.js';
import {
  isMessageType,
  messageTypes,
  type MessageBody,
  type MessageType,
} from '../messages/registry.js';
import { readHeader, type EnvelopeHeader } from './header.js';
import type { ReplayGuard } from './replay.js';
import { unwrap } from './wire.js';

export interface OpenOptions {
  /** The receiver's clock reading (ms since the epoch), for the skew check. */
  readonly nowMs: number;
  readonly envelopeBytesMax?: number;
  readonly skewMs?: number;
  /** When set, other (valid) types are refused with SCHEMA before they touch replay state. */
  readonly types?: readonly MessageType[];
}

/** A verified message: one member per message type, so `switch (message.type)` narrows `body`. */
export type OpenedMessage = {
  [T in MessageType]: {
    readonly type: T;
    readonly body: MessageBody<T>;
    /** Key id of the signer; `signer` has its role and name. */
    readonly sender: string;
    readonly signer: TrustedKey;
    readonly sid: string;
    readonly seq: number;
    readonly ts: number;
  };
}[MessageType];

/**
 * Verifies and decodes an envelope. Never throws: every refusal is a ProtocolError with a stable
 * code. Order: size, envelope decode, key lookup, signature, type and signer role, time, replay,
 * body schema. A seq is recorded as seen only once the signature and role are good.
 */
export function open(
  bytes: Uint8Array,
  trust: TrustStore,
  replay: ReplayGuard,
  options: OpenOptions,
): Result<OpenedMessage, ProtocolError> {
  const bytesMax = options.envelopeBytesMax ?? protocolLimits.envelopeBytesMax;
  if (!(bytes instanceof Uint8Array))
    return err(protocolError('MALFORMED', 'envelope is not bytes'));
  if (bytes.length > bytesMax) {
    return err(
      protocolError(
        'TOO_LARGE',
        `envelope is ${bytes.length} bytes, envelopeBytesMax is ${bytesMax}`,
      ),
    );
  }
  const wrapped = unwrap(bytes);
  if (!wrapped.ok) return err(protocolError('MALFORMED', wrapped.error));
  const decoded = decodeCbor(wrapped.value.payload);
  if (!decoded.ok) return err(protocolError('MALFORMED', `payload: ${decoded.error}`));
  const header = readHeader(decoded.value);
  if (!header.ok) return err(protocolError('MALFORMED', header.error));
  const signer = trust.get(header.value.sender);
  if (!signer)
    return err(protocolError('UNKNOWN_KEY', `sender ${header.value.sender} is not a trusted key`));
  if (!verify(null, wrapped.value.payload, signer.publicKey, wrapped.value.sig)) {
    return err(
      protocolError(
        'BAD_SIGNATURE',
        `signature does not verify with ${signer.keyId} (${signer.name})`,
      ),
    );
  }
  return admit(header.value, signer, replay, options);
}

/** The checks that follow a good signature. */
function admit(
  header: EnvelopeHeader,
  signer: TrustedKey,
  replay: ReplayGuard,
  options: OpenOptions,
): Result<OpenedMessage, ProtocolError> {
  const { type, sender, sid, seq, ts } = header;
  if (!isMessageType(type)) return err(protocolError('SCHEMA', `unknown message type "${type}"`));
  if (options.types && !options.types.includes(type)) {
    return err(protocolError('SCHEMA', `message type "${type}" is not accepted here`));
  }
  const spec = messageTypes[type];
  if (!(spec.signers as readonly string[]).includes(signer.role)) {
    return err(
      protocolError(
        'WRONG_ROLE',
        `${type} may be signed by ${spec.signers.join('|')}, not by ${signer.role} key ${signer.name}`,
      ),
    );
  }
  const skewMs = options.skewMs ?? protocolLimits.skewMs;
  if (Math.abs(ts - options.nowMs) > skewMs) {
    return err(
      protocolError('STALE', `ts ${ts} is ${ts - options.nowMs} ms from now, skewMs is ${skewMs}`),
    );
  }
  const verdict = replay.check(sender, sid, seq, ts);
  if (verdict !== 'fresh')
    return err(
      protocolError('REPLAYED', `seq ${seq} of session ${sid}: ${verdict.replace('_', ' ')}`),
    );
  replay.record(sender, sid, seq, ts);
  const body = spec.schema.safeParse(header.body);
  if (!body.success) return err(protocolError('SCHEMA', schemaMessage(type, body.error.issues)));
  return ok({ type, body: body.data, sender, signer, sid, seq, ts } as OpenedMessage);
}

function schemaMessage(
  type: string,
  issues: readonly { path: PropertyKey[]; message: string }[],
): string {
  const first = issues[0];
  if (!first) return `${type} body is invalid`;
  const path = ['body', ...first.path.map(String)].join('.');
  return `${type} ${path}: ${first.message}`;
}
