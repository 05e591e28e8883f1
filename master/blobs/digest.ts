import { createHash } from 'node:crypto';

/** Components are addressed by `sha256:<64 lowercase hex>` everywhere on the wire. */
export const DIGEST_PREFIX = 'sha256:';
const HEX_DIGEST = /^[0-9a-f]{64}$/;

export type Digest = `sha256:${string}`;

/** Accepts `sha256:<hex>` or bare hex (as in URLs); undefined when it is neither. */
export function parseDigest(text: string): Digest | undefined {
  const hex = text.startsWith(DIGEST_PREFIX) ? text.slice(DIGEST_PREFIX.length) : text;
  return HEX_DIGEST.test(hex) ? `sha256:${hex}` : undefined;
}

export function digestHex(digest: Digest): string {
  return digest.slice(DIGEST_PREFIX.length);
}

export function digestOf(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
