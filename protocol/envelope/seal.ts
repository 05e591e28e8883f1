import { randomBytes, sign } from 'node:crypto';
import { assert, InvariantError } from '../../lib/assert.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { encodeCbor } from '../cbor/codec.js';
import type { Identity } from '../keys/identity.js';
import { protocolLimits } from '../limits.js';
import { messageTypes, type MessageBody, type MessageType } from '../messages/registry.js';
import { ENVELOPE_VERSION, isSessionId, type EnvelopeHeader } from './header.js';
import { wrap } from './wire.js';

export interface SignerOptions {
  readonly clock?: Clock;
  /** Defaults to a fresh random id: one session per Signer, i.e. per process start. */
  readonly sid?: string;
}

/** 12 random bytes, base64url: 16 characters. */
export function newSessionId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Seals messages as one sender: its key, its session id and its sequence counter. The body is
 * checked against its type's schema first: sealing an invalid body is a bug in the caller, so it
 * throws InvariantError (as does a body too large for an envelope: senders keep bodies within
 * protocol/limits.ts, e.g. by splitting offers across events).
 */
export class Signer {
  readonly sid: string;
  private seq = 0;
  private readonly clock: Clock;

  constructor(
    readonly identity: Identity,
    options: SignerOptions = {},
  ) {
    this.sid = options.sid ?? newSessionId();
    this.clock = options.clock ?? systemClock;
    assert(isSessionId(this.sid), 'a session id is 1-64 characters of [A-Za-z0-9_-]');
  }

  get keyId(): string {
    return this.identity.keyId;
  }

  /** The seq the last sealed envelope carried (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  seal<T extends MessageType>(type: T, body: MessageBody<T>): Uint8Array {
    const checked = messageTypes[type].schema.safeParse(body);
    if (!checked.success) {
      throw new InvariantError(
        `sealing an invalid ${type}: ${checked.error.issues[0]?.message ?? ''} at ${checked.error.issues[0]?.path.join('.') ?? ''}`,
      );
    }
    this.seq++;
    const header: EnvelopeHeader = {
      v: ENVELOPE_VERSION,
      type,
      sender: this.identity.keyId,
      sid: this.sid,
      seq: this.seq,
      ts: Math.floor(this.clock.nowMs()),
      body,
    };
    const payload = encodeCbor(header);
    const envelope = wrap(payload, sign(null, payload, this.identity.privateKey));
    assert(
      envelope.length <= protocolLimits.envelopeBytesMax,
      `a ${type} envelope of ${envelope.length} bytes exceeds envelopeBytesMax`,
    );
    return envelope;
  }
}
