/**
 * Authentication of the calls masters make to each other's replica routes (replication.ts):
 * each is one signed CBOR envelope (`master.replicate`, `master.list_blobs`), opened against
 * the master's trust store with its own replay guard, and then tied to the election: the
 * envelope must be meant for this master (`to`), and `from` must name a master in the
 * election whose published public key is the one that signed it. A refused call changes
 * nothing but the replay state of a correctly signed envelope (its seq is spent).
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { err, ok, type Result } from '../../lib/result.js';
import {
  open,
  protocolLimits,
  rawPublicKey,
  ReplayGuard,
  Signer,
  TrustStore,
  type Identity,
  type MessageBody,
  type TrustedKey,
} from '../../protocol/index.js';
import { readBodyLimited } from '../http/body.js';
import { ENVELOPE_REFUSAL_STATUS } from '../http/envelope-status.js';
import type { Peer } from './peer.js';

export type ReplicaCallType = 'master.replicate' | 'master.list_blobs';
/** An opened replica call: its body (every one names `from` and `to`) and its signer. */
export interface ReplicaCall<T extends ReplicaCallType> {
  readonly body: MessageBody<T> & { readonly from: string; readonly to: string };
  readonly signer: TrustedKey;
}

export const REPLICA_MEDIA_TYPE = 'application/cbor';

export interface ReplicaRefusal {
  readonly status: 400 | 403 | 405 | 409 | 413 | 415 | 503;
  readonly code: string;
  readonly message: string;
}

/**
 * The master's trust store, plus its own key as a `master` key. The masters of an election
 * share one key (docs/HA.md), and a trust directory need not list the key of the master that
 * reads it (`wasmos dev` does not): whoever signs with this master's private key is a master.
 * Reads go to the live store, so trust reloads apply at once.
 */
class TrustWithOwnKey extends TrustStore {
  constructor(
    private readonly base: TrustStore,
    private readonly own: TrustedKey,
  ) {
    super();
  }

  override get(keyId: string): TrustedKey | undefined {
    return keyId === this.own.keyId ? this.own : this.base.get(keyId);
  }

  override get size(): number {
    return this.list().length;
  }

  override list(): TrustedKey[] {
    const others = this.base.list().filter((each) => each.keyId !== this.own.keyId);
    return [this.own, ...others];
  }
}

export interface ReplicaAuthOptions {
  /** This master's id in the election: the `to` its calls must carry, the `from` of its own. */
  readonly selfId: string;
  /** This master's key: signs its calls (every master of an election has the same one). */
  readonly identity: Identity;
  /** The master's trust store (`--trust`); only keys with role `master` may send these calls. */
  readonly trust: TrustStore;
  /** Largest call body accepted (`callBytesMax`). */
  readonly callBytesMax: number;
  readonly clock?: Clock;
}

export class ReplicaAuth {
  private readonly signer: Signer;
  private readonly trust: TrustStore;
  private readonly replay = new ReplayGuard();
  private readonly clock: Clock;

  constructor(private readonly options: ReplicaAuthOptions) {
    this.clock = options.clock ?? systemClock;
    this.signer = new Signer(options.identity, { clock: this.clock });
    this.trust = new TrustWithOwnKey(options.trust, {
      keyId: options.identity.keyId,
      publicKey: options.identity.publicKey,
      role: 'master',
      name: 'this master',
    });
  }

  /** A call of this master to `to`, sealed; `from` is this master's id. */
  seal<T extends ReplicaCallType>(
    type: T,
    to: string,
    fields: Omit<MessageBody<T>, 'from' | 'to'>,
  ): Uint8Array {
    return this.signer.seal(type, {
      ...fields,
      from: this.options.selfId,
      to,
    } as MessageBody<T>);
  }

  /**
   * Reads and opens the request's envelope: application/cbor, at most `callBytesMax` bytes, a
   * good signature by a trusted `master` key, fresh (skew and replay), the `type` of the route,
   * a valid body, and meant for this master.
   */
  async open<T extends ReplicaCallType>(
    request: Request,
    type: T,
  ): Promise<Result<ReplicaCall<T>, ReplicaRefusal>> {
    const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (mediaType.toLowerCase() !== REPLICA_MEDIA_TYPE) {
      return err({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: `replica calls are signed ${type} envelopes: send ${REPLICA_MEDIA_TYPE}`,
      });
    }
    const { callBytesMax } = this.options;
    const body = await readBodyLimited(request, callBytesMax);
    if (!body.ok)
      return err({ status: body.error.code === 'TOO_LARGE' ? 413 : 400, ...body.error });
    const opened = open(body.value, this.trust, this.replay, {
      nowMs: this.clock.nowMs(),
      envelopeBytesMax: Math.min(callBytesMax, protocolLimits.envelopeBytesMax),
      types: [type],
    });
    if (!opened.ok) {
      const { code, message } = opened.error;
      return err({ status: ENVELOPE_REFUSAL_STATUS[code], code, message });
    }
    const message = opened.value;
    if (message.type !== type || message.signer.role !== 'master')
      return err({ status: 403, code: 'WRONG_ROLE', message: `${type} is signed by masters` });
    const call: ReplicaCall<T> = {
      body: message.body as ReplicaCall<T>['body'],
      signer: message.signer,
    };
    if (call.body.to !== this.options.selfId) {
      return err({
        status: 403,
        code: 'WRONG_RECIPIENT',
        message: `the call is for master ${call.body.to}, this is ${this.options.selfId}`,
      });
    }
    return ok(call);
  }
}

/**
 * The master in the election that sent a call: the one `from` names, if its published public
 * key is the signer's. `peers` is this master's view of the others in the election.
 */
export function senderAmong(
  peers: readonly Peer[],
  from: string,
  signer: TrustedKey,
): Result<Peer, ReplicaRefusal> {
  const peer = peers.find((each) => each.id === from);
  if (!peer) {
    return err({
      status: 403,
      code: 'UNKNOWN_PEER',
      message: `${from} is not a master in this master's view of the election`,
    });
  }
  const published = Buffer.from(peer.publicKey, 'base64');
  if (!published.equals(rawPublicKey(signer.publicKey))) {
    return err({
      status: 403,
      code: 'KEY_MISMATCH',
      message: `the call is signed by ${signer.keyId}, not by the key ${from} published in the election`,
    });
  }
  return ok(peer);
}
