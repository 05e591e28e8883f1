/** Limits of the master's component store; each is a flag of `wasmos master`. */
export const BLOB_LIMITS = {
  /** Largest component accepted by upload (a componentize-js component is ~12 MiB). */
  blobBytesMax: 64 * 1024 * 1024,
  /** Total bytes the store may hold; uploads beyond it are refused until blobs are removed. */
  storeBytesMax: 4 * 1024 * 1024 * 1024,
} as const;

export type BlobLimits = { readonly [K in keyof typeof BLOB_LIMITS]: number };
