// The WASI testsuite subset in ../shared/wasi-testsuite, as its README describes it: each test
// is a .wasm beside an optional .json of args, env, a `root` directory to preopen as "/", and
// the expected exit code and exact stdout/stderr. Shared by the module and the adapted runs.
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskSpec } from '../../wasi-executor/types.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const suiteRoot = resolve(repoRoot, '../shared/wasi-testsuite/tests');

export interface Expectation {
  readonly args?: string[];
  readonly env?: Record<string, string>;
  readonly root?: string | null;
  readonly exit_code?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** Every test module of the suite, in a stable order. */
export function findTests(dir = suiteRoot): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.wasm')) found.push(path);
  }
  return found;
}

export function expectationOf(wasmPath: string): Expectation {
  const jsonPath = wasmPath.replace(/\.wasm$/, '.json');
  return existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Expectation) : {};
}

/** A fresh copy of the test's `root` under `scratch`, preopened as the guest's "/" (writable). */
export function preopensFor(
  wasmPath: string,
  name: string,
  expected: Expectation,
  scratch: string,
): TaskSpec['preopens'] {
  if (!expected.root) return [];
  const copy = join(mkdtempSync(join(scratch, `${name}-`)), expected.root);
  cpSync(join(wasmPath, '..', expected.root), copy, { recursive: true });
  removeCleanupFiles(copy);
  return [{ hostPath: copy, guestPath: '/', writable: true }];
}

function removeCleanupFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.cleanup')) rmSync(path, { recursive: true, force: true });
    else if (statSync(path).isDirectory()) removeCleanupFiles(path);
  }
}
