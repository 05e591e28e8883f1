/**
 * The test programs built into components/built/programs, and their upload to a master the way
 * `wasmos run` does it. End-to-end, CLI and UI tests all put a program on a master before they
 * launch it; this is the one way they do.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

/** The repository root, from dist/test/support/. */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The built program `name` (e.g. `hello`, `infinite-loop`). */
export function programPath(name: string): string {
  return join(repoRoot, 'components', 'built', 'programs', `${name}.wasm`);
}

/** The bytes of the built program `name`. */
export function programBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(programPath(name)));
}

/**
 * PUTs the program `name` to the master's blob store at its sha256 and asserts it was stored
 * (201) or already there (200); returns its digest, `sha256:<hex>`, for a task's wasm field.
 */
export async function uploadProgram(masterUrl: string, name: string): Promise<string> {
  const bytes = await readFile(programPath(name));
  const hex = createHash('sha256').update(bytes).digest('hex');
  const response = await fetch(`${masterUrl}/api/v1/blobs/${hex}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/wasm' },
    body: bytes,
  });
  assert.ok(response.status === 201 || response.status === 200, await response.text());
  return `sha256:${hex}`;
}
