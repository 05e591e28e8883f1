import type { Clock } from '../../lib/clock.js';
import { err, ok, type Result } from '../../lib/result.js';
import {
  open,
  SchedulerCall,
  type ReplayGuard,
  type SchedulerEvent,
  type Signer,
  type TrustStore,
} from '../../protocol/index.js';
import { readBodyLimited } from './body.js';
import { ENVELOPE_REFUSAL_STATUS } from './envelope-status.js';
import type { HttpCredentials } from './credentials.js';

/** The two encodings of the scheduler API, chosen by the request's Content-Type. */
export type Encoding = 'cbor' | 'json';

export const MEDIA_TYPE: Readonly<Record<Encoding, string>> = {
  cbor: 'application/cbor',
  json: 'application/json',
};

/** Who made a call: a framework key (signed CBOR) or an HTTP principal (JSON). */
export type Caller =
  | { readonly kind: 'key'; readonly keyId: string; readonly name: string }
  | { readonly kind: 'principal'; readonly principal: string };

export interface DecodedCall {
  readonly call: SchedulerCall;
  readonly caller: Caller;
  readonly encoding: Encoding;
}

export interface HttpFailure {
  readonly status: 400 | 401 | 403 | 413 | 415;
  readonly code: string;
  readonly message: string;
}

export interface SchedulerCodecOptions {
  readonly trust: TrustStore;
  readonly replay: ReplayGuard;
  readonly clock: Clock;
  readonly bodyBytesMax: number;
  /** Absent: the JSON encoding is off (it is opt-in with `--http-credentials`). */
  readonly credentials?: HttpCredentials;
}

export function encodingOf(contentType: string | undefined): Encoding | undefined {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === MEDIA_TYPE.cbor) return 'cbor';
  if (mediaType === MEDIA_TYPE.json) return 'json';
  return undefined;
}

/**
 * Decodes and authenticates one scheduler call. Validation happens here, at
 * the edge: what comes back is a schema-checked call from a known caller, and
 * nothing was changed by a refused request (a refused envelope's seq is not
 * even recorded as seen).
 */
export async function decodeSchedulerCall(
  request: Request,
  options: SchedulerCodecOptions,
): Promise<Result<DecodedCall, HttpFailure>> {
  const encoding = encodingOf(request.headers.get('content-type') ?? undefined);
  if (!encoding) {
    return err({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `send ${MEDIA_TYPE.cbor} (signed envelopes) or ${MEDIA_TYPE.json} (Mesos v1 JSON)`,
    });
  }
  if (encoding === 'json' && !options.credentials) {
    return err({
      status: 415,
      code: 'JSON_DISABLED',
      message:
        'the JSON scheduler API is off on this master (start it with --http-credentials FILE)',
    });
  }
  const body = await readBodyLimited(request, options.bodyBytesMax);
  if (!body.ok) {
    return err({ status: body.error.code === 'TOO_LARGE' ? 413 : 400, ...body.error });
  }
  return encoding === 'cbor'
    ? decodeSigned(body.value, options)
    : decodeJson(
        body.value,
        request.headers.get('authorization') ?? undefined,
        options.credentials!,
      );
}

function decodeSigned(
  bytes: Uint8Array,
  options: SchedulerCodecOptions,
): Result<DecodedCall, HttpFailure> {
  const opened = open(bytes, options.trust, options.replay, {
    nowMs: options.clock.nowMs(),
    envelopeBytesMax: options.bodyBytesMax,
    types: ['scheduler.call'],
  });
  if (!opened.ok) {
    const { code, message } = opened.error;
    return err({ status: ENVELOPE_REFUSAL_STATUS[code], code, message });
  }
  const message = opened.value;
  if (message.type !== 'scheduler.call') {
    return err({
      status: 400,
      code: 'SCHEMA',
      message: `expected scheduler.call, got ${message.type}`,
    });
  }
  return ok({
    call: message.body,
    caller: { kind: 'key', keyId: message.sender, name: message.signer.name },
    encoding: 'cbor',
  });
}

function decodeJson(
  bytes: Uint8Array,
  authorization: string | undefined,
  credentials: HttpCredentials,
): Result<DecodedCall, HttpFailure> {
  const principal = credentials.authenticate(authorization);
  if (!principal) {
    return err({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'valid HTTP Basic credentials are required',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    return err({
      status: 400,
      code: 'MALFORMED',
      message: `body is not JSON: ${(error as Error).message}`,
    });
  }
  const parsed = SchedulerCall.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    return err({
      status: 400,
      code: 'SCHEMA',
      message: `${issue?.message ?? 'invalid call'}${at}`,
    });
  }
  return ok({ call: parsed.data, caller: { kind: 'principal', principal }, encoding: 'json' });
}

/** One event in the subscriber's encoding: a master-signed envelope, or Mesos v1 JSON. */
export function encodeSchedulerEvent(
  event: SchedulerEvent,
  encoding: Encoding,
  signer: Signer,
): Uint8Array {
  if (encoding === 'cbor') return signer.seal('scheduler.event', event);
  return new TextEncoder().encode(JSON.stringify(event));
}
