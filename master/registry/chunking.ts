import { createHash } from 'node:crypto';
import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';

/**
 * The ZooKeeper registry's head znode: which chunk znodes hold the current registry and how
 * to check them. Chunks are immutable and named after the write that made them (`id`), so a
 * reader that got all chunks of the head it read has exactly that registry.
 */
export interface RegistryHead {
  readonly format: 1;
  /** Grows by one with every write: versions order writes. */
  readonly generation: number;
  /** Random per write: names the write's chunks and tells two writes apart. */
  readonly id: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly sha256: string;
}

const ID_PATTERN = /^[0-9a-f]{16}$/;
const CHUNK_PATTERN = /^([0-9a-f]{16})_(\d{4})$/;
export const CHUNK_INDEX_MAX = 9999;

export function splitChunks(bytes: Uint8Array, chunkBytes: number): Uint8Array[] {
  assert(chunkBytes > 0, 'chunk size must be positive');
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) {
    chunks.push(bytes.subarray(offset, Math.min(offset + chunkBytes, bytes.byteLength)));
  }
  assert(chunks.length <= CHUNK_INDEX_MAX, 'too many chunks');
  return chunks;
}

export function chunkName(id: string, index: number): string {
  assert(ID_PATTERN.test(id), 'chunk id must be 16 hex digits');
  assert(
    Number.isInteger(index) && index >= 0 && index <= CHUNK_INDEX_MAX,
    'chunk index out of range',
  );
  return `${id}_${String(index).padStart(4, '0')}`;
}

/** The write id a chunk znode belongs to, or undefined for a name that is not a chunk. */
export function chunkOwner(name: string): string | undefined {
  return CHUNK_PATTERN.exec(name)?.[1];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function makeHead(
  previous: RegistryHead | undefined,
  id: string,
  bytes: Uint8Array,
  chunks: number,
): RegistryHead {
  assert(ID_PATTERN.test(id), 'write id must be 16 hex digits');
  return {
    format: 1,
    generation: (previous?.generation ?? 0) + 1,
    id,
    bytes: bytes.byteLength,
    chunks,
    sha256: sha256Hex(bytes),
  };
}

/** The opaque version the master passes back on its next write. */
export function headVersion(head: RegistryHead): string {
  return `${head.generation}-${head.id}`;
}

export function encodeHead(head: RegistryHead): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(head));
}

export function decodeHead(data: Uint8Array): Result<RegistryHead, string> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return err('registry head is not JSON');
  }
  if (typeof value !== 'object' || value === null) return err('registry head is not an object');
  const head = value as Record<string, unknown>;
  if (head.format !== 1) return err(`unknown registry head format ${String(head.format)}`);
  for (const field of ['generation', 'bytes', 'chunks'] as const) {
    const number = head[field];
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
      return err(`registry head field ${field} is not a count`);
    }
  }
  if (typeof head.id !== 'string' || !ID_PATTERN.test(head.id))
    return err('registry head id is malformed');
  if (typeof head.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(head.sha256)) {
    return err('registry head checksum is malformed');
  }
  if ((head.chunks as number) > CHUNK_INDEX_MAX) return err('registry head names too many chunks');
  return ok(value as RegistryHead);
}
