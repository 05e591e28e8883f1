import type { GuestSpec } from '../../wasi-executor/guest.js';

/**
 * What a guest gets when a test grants it nothing: no arguments, environment, input, files or
 * network. Tests that build a host or task context by hand start from this and change only what
 * they test, so a new GuestSpec field is defaulted in one place.
 */
export function bareGuestSpec(programName = 'probe', changes: Partial<GuestSpec> = {}): GuestSpec {
  return {
    programName,
    args: [],
    env: {},
    stdin: new Uint8Array(0),
    preopens: [],
    netAllow: [],
    handlerInput: undefined,
    ...changes,
  };
}
