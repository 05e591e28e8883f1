/** Checks a TaskSpec at the edge and turns it into the plain GuestSpec a worker gets. */
import { realpathSync, statSync } from 'node:fs';
import { err, ok, type Result } from '../lib/result.js';
import type { GuestSpec } from './guest.js';
import { resolveTaskLimits, type ExecutorLimits } from './limits.js';
import { ExecutorError, type Preopen, type TaskLimits, type TaskSpec } from './types.js';

export const DEFAULT_PROGRAM_NAME = 'main.wasm';
const NET_PATTERN = /^(\*|[A-Za-z0-9.*-]+|\[[0-9a-fA-F:.]+\]):(\*|\d{1,5})$/;

function invalid(message: string): Result<never, ExecutorError> {
  return err(new ExecutorError('invalid_spec', message));
}

function checkPreopen(preopen: Preopen): Result<Preopen, ExecutorError> {
  if (preopen.guestPath.length === 0 || preopen.guestPath.includes('\0')) {
    return invalid(`preopen guest path "${preopen.guestPath}" is empty or has a NUL`);
  }
  let hostPath: string;
  try {
    // The operator's own path: resolving it with the host's realpath is fine; the guest's paths never are.
    hostPath = realpathSync(preopen.hostPath);
    if (!statSync(hostPath).isDirectory())
      return invalid(`preopen ${preopen.hostPath} is not a directory`);
  } catch (error) {
    return invalid(`preopen ${preopen.hostPath} cannot be used: ${(error as Error).message}`);
  }
  return ok({ hostPath, guestPath: preopen.guestPath, writable: preopen.writable });
}

function stringsBytes(strings: readonly string[]): number {
  return strings.reduce((sum, text) => sum + Buffer.byteLength(text) + 1, 0);
}

export interface CheckedSpec {
  readonly guest: GuestSpec;
  readonly limits: TaskLimits;
}

export function checkTaskSpec(
  spec: TaskSpec,
  executorLimits: ExecutorLimits,
): Result<CheckedSpec, ExecutorError> {
  const limits = resolveTaskLimits(spec.limits);
  if (!limits.ok) return invalid(limits.error);
  const programName = spec.programName ?? DEFAULT_PROGRAM_NAME;
  const args = spec.args ?? [];
  const env = spec.env ?? {};
  for (const text of [programName, ...args]) {
    if (text.includes('\0')) return invalid('an argument contains a NUL byte');
  }
  for (const [key, value] of Object.entries(env)) {
    if (key.length === 0 || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      return invalid(`environment variable "${key}" is not a valid name=value pair`);
    }
  }
  const argsEnvBytes =
    stringsBytes([programName, ...args]) +
    stringsBytes(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  if (argsEnvBytes > executorLimits.argsEnvBytesMax) {
    return invalid(
      `args and env take ${argsEnvBytes} bytes, above the limit of ${executorLimits.argsEnvBytesMax}`,
    );
  }
  const stdin = spec.stdin ?? new Uint8Array(0);
  const handlerInput = spec.handlerInput;
  for (const [name, input] of [
    ['stdin', stdin],
    ['handler input', handlerInput],
  ] as const) {
    if (input !== undefined && input.length > executorLimits.inputBytesMax) {
      return invalid(
        `${name} is ${input.length} bytes, above the limit of ${executorLimits.inputBytesMax}`,
      );
    }
  }
  const netAllow = spec.netAllow ?? [];
  const badPattern = netAllow.find((pattern) => !NET_PATTERN.test(pattern));
  if (badPattern !== undefined)
    return invalid(`net grant "${badPattern}" is not a host:port pattern`);
  const preopens: Preopen[] = [];
  for (const preopen of spec.preopens ?? []) {
    const checked = checkPreopen(preopen);
    if (!checked.ok) return checked;
    preopens.push(checked.value);
  }
  return ok({
    guest: {
      programName,
      args: [...args],
      env: { ...env },
      stdin,
      preopens,
      netAllow: [...netAllow],
      handlerInput,
    },
    limits: limits.value,
  });
}
