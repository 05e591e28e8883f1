import { WasmosError } from '../errors.js';

/** What went wrong talking to ZooKeeper, as a stable code callers switch on. */
export type ZkErrorReason =
  | 'no_node'
  | 'node_exists'
  | 'bad_version'
  | 'not_empty'
  | 'no_auth'
  | 'invalid_acl'
  | 'connection_loss'
  | 'session_expired'
  | 'auth_failed'
  | 'timeout'
  | 'closed'
  | 'other';

export class ZkError extends WasmosError {
  constructor(
    readonly reason: ZkErrorReason,
    message: string,
    /** For a failed multi: the index of the operation that failed. */
    readonly opIndex?: number,
  ) {
    super(`zk_${reason}`, message);
  }
}

export function isZkError(error: unknown, reason?: ZkErrorReason): error is ZkError {
  return error instanceof ZkError && (reason === undefined || error.reason === reason);
}

/** ZooKeeper's numeric error codes (see KeeperException.Code). */
const REASON_BY_CODE: Readonly<Record<number, ZkErrorReason>> = {
  [-4]: 'connection_loss',
  [-101]: 'no_node',
  [-102]: 'no_auth',
  [-103]: 'bad_version',
  [-110]: 'node_exists',
  [-111]: 'not_empty',
  [-112]: 'session_expired',
  [-114]: 'invalid_acl',
  [-115]: 'auth_failed',
};

export function reasonForCode(code: number): ZkErrorReason {
  return REASON_BY_CODE[code] ?? 'other';
}
