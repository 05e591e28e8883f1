/**
 * Operating errors of the master core: typed values with stable codes, returned from `step`.
 * When `step` returns one, nothing changed. The HTTP shell maps codes to statuses (see
 * docs/MASTER-CORE.md): `invalid` and `limit_exceeded` → 400, `wrong_stream`,
 * `key_mismatch` and `principal_mismatch` → 403, the unknown/removed codes → 404 or 400.
 */
export type CoreErrorCode =
  | 'invalid'
  | 'limit_exceeded'
  | 'wrong_stream'
  | 'framework_unknown'
  | 'framework_removed'
  | 'principal_mismatch'
  | 'agent_unknown'
  | 'agent_gone'
  | 'agent_not_registered'
  | 'key_mismatch';

export interface CoreError {
  readonly code: CoreErrorCode;
  readonly message: string;
  /** For `limit_exceeded`: which limit, and its value. */
  readonly limit?: { readonly name: string; readonly max: number };
}

export function coreError(code: CoreErrorCode, message: string): CoreError {
  return { code, message };
}

export function limitError(name: string, max: number, what: string): CoreError {
  return {
    code: 'limit_exceeded',
    message: `${what} (limit ${name} = ${max})`,
    limit: { name, max },
  };
}
