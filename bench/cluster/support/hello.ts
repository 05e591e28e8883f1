import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** components/built/programs/hello.wasm: a trivial preview1 program (prints a line, exits 0). */
export const HELLO_WASM = new URL(
  '../../../../components/built/programs/hello.wasm',
  import.meta.url,
);

/** Uploads hello.wasm to the master's blob store; returns its digest (`sha256:…`). */
export async function uploadHello(masterUrl: string): Promise<string> {
  const bytes = await readFile(HELLO_WASM);
  const hex = createHash('sha256').update(bytes).digest('hex');
  const response = await fetch(`${masterUrl}/api/v1/blobs/${hex}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/wasm' },
    body: bytes,
  });
  const text = await response.text();
  if (response.status !== 201 && response.status !== 200)
    throw new Error(`uploading hello.wasm answered ${response.status}: ${text}`);
  return `sha256:${hex}`;
}
