import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { err, ok, type Result } from '../../lib/result.js';
import type { TaskInfo } from '../../protocol/messages/task.js';
import { fuelForTimeoutMs } from '../../wasi-executor/limits.js';
import type { WasmPreopen, WasmSpec } from '../containerizer/containerizer.js';
import { scalarResource } from './tasks.js';

const MiB = 1024 * 1024;

export interface WasmDefaults {
  readonly timeoutMs: number;
  /** Absolute host paths an operator lets tasks be granted (`--allow-host-path`); default none. */
  readonly hostPathsAllowed: readonly string[];
}

export type WasmSpecWithoutComponent = Omit<WasmSpec, 'componentPath'>;

/**
 * Resolves a task's `wasm` info into what the wasm containerizer enforces (pure; deny by
 * default). Its `mem` resource caps its memory (`wasm.memory_bytes` may only lower that); fuel
 * comes from `wasm.fuel`, else a `fuel` resource, else what the task's timeout allows
 * (fuelForTimeoutMs: default fuel never ends a task its timeout would let run). A relative permission
 * path is a directory inside the task's sandbox (seen by the task under that relative name); an
 * absolute one must lie inside a path the operator allowed, and is seen at the same path.
 */
export function resolveWasmSpec(
  info: TaskInfo,
  sandboxDir: string,
  defaults: WasmDefaults,
): Result<WasmSpecWithoutComponent, string> {
  const wasm = info.wasm;
  if (!wasm) return err('task has no `wasm` section');
  const memCapBytes = Math.floor(scalarResource(info.resources, 'mem') * MiB);
  const memoryBytesMax =
    memCapBytes > 0
      ? Math.min(memCapBytes, wasm.memory_bytes ?? memCapBytes)
      : (wasm.memory_bytes ?? 0);
  if (memoryBytesMax <= 0) return err('a wasm task needs a `mem` resource or `wasm.memory_bytes`');
  const fuelResource = scalarResource(info.resources, 'fuel');
  const preopens = resolvePreopens(wasm.permissions ?? {}, sandboxDir, defaults.hostPathsAllowed);
  if (!preopens.ok) return preopens;
  const env: Record<string, string> = {};
  for (const variable of wasm.env ?? []) env[variable.name] = variable.value ?? '';
  const timeoutMs = wasm.timeout_ms ?? defaults.timeoutMs;
  return ok({
    digest: wasm.digest,
    fuel: wasm.fuel ?? (fuelResource > 0 ? Math.floor(fuelResource) : fuelForTimeoutMs(timeoutMs)),
    memoryBytesMax,
    timeoutMs,
    args: wasm.args ?? [],
    env,
    preopens: preopens.value,
    netAllow: wasm.permissions?.net ?? [],
    entrypoint: wasm.entrypoint ?? 'command',
    ...(wasm.input === undefined
      ? {}
      : { input: new Uint8Array(Buffer.from(wasm.input, 'base64')) }),
  });
}

function resolvePreopens(
  permissions: { readonly read?: readonly string[]; readonly write?: readonly string[] },
  sandboxDir: string,
  hostPathsAllowed: readonly string[],
): Result<WasmPreopen[], string> {
  const byGuest = new Map<string, WasmPreopen>();
  const grants: Array<[string, boolean]> = [
    ...(permissions.read ?? []).map((path): [string, boolean] => [path, false]),
    ...(permissions.write ?? []).map((path): [string, boolean] => [path, true]),
  ];
  for (const [path, writable] of grants) {
    const preopen = resolvePath(path, writable, sandboxDir, hostPathsAllowed);
    if (!preopen.ok) return preopen;
    const earlier = byGuest.get(preopen.value.guestPath);
    byGuest.set(preopen.value.guestPath, {
      ...preopen.value,
      writable: writable || (earlier?.writable ?? false),
    });
  }
  return ok([...byGuest.values()]);
}

function resolvePath(
  path: string,
  writable: boolean,
  sandboxDir: string,
  hostPathsAllowed: readonly string[],
): Result<WasmPreopen, string> {
  if (path.includes('\0')) return err('a permission path contains NUL');
  if (!posix.isAbsolute(path)) {
    const guestPath = posix.normalize(path);
    if (guestPath === '..' || guestPath.startsWith('../')) {
      return err(`permission path "${path}" leaves the sandbox`);
    }
    return ok({ hostPath: resolve(sandboxDir, guestPath), guestPath, writable });
  }
  const hostPath = posix.normalize(path);
  const allowed = hostPathsAllowed.some((root) => isInside(resolve(root), hostPath));
  if (!allowed)
    return err(`permission path "${path}" is outside the sandbox and not allowed on this agent`);
  return ok({ hostPath, guestPath: hostPath, writable });
}

function isInside(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return (
    fromRoot === '' ||
    (!fromRoot.startsWith('..' + sep) && fromRoot !== '..' && !isAbsolute(fromRoot))
  );
}
