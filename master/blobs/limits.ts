/** Limits of the master's component store; each is a flag of `wasmos master`. */
export const BLOB_LIMITS = {
  /** Largest component accepted by upload (a componentize-js component is ~12 MiB). */
  blobBytesMax: 64 * 1024 * 1024,
  /** Total bytes the store may hold; uploads beyond it are refused until blobs are removed. */
  storeBytesMax: 4 * 1024 * 1024 * 1024,
} as const;

export type BlobLimits = { readonly [K in keyof typeof BLOB_LIMITS]: number };

/**
 * Limits of blob replication between masters (`wasmos master --zk`, master/blobs/replication.ts
 * and docs/HA.md). Every master keeps a copy of every component, so a failover loses none.
 */
export const REPLICATION_LIMITS = {
  /**
   * Standbys that must hold an uploaded blob before the leader acknowledges the upload (fewer
   * when fewer are in the election: a lone leader acknowledges with its own copy only).
   */
  replicasMin: 1,
  /** How long the leader waits for those copies before answering 503 NOT_REPLICATED. */
  replicateTimeoutMs: 30_000,
  /** One blob's download from a peer, headers to last byte. */
  fetchTimeoutMs: 60_000,
  /** Downloads from peers at once on one master; more asks to replicate get 503. */
  fetchesMax: 4,
  /** Pause between two rounds of comparing this master's blobs with every peer's. */
  mirrorIntervalMs: 5_000,
  /** Blobs per page of a listing (`GET /api/v1/replica/blobs?after=&limit=`). */
  listPageMax: 1_000,
  /** Bytes of one listing page a master accepts from a peer. */
  listPageBytesMax: 256 * 1024,
  /**
   * Bytes of one signed call from a peer (`master.replicate`, `master.list_blobs`; each is a few
   * hundred bytes): a larger body is refused with 413 before it is read whole.
   */
  callBytesMax: 4 * 1024,
} as const;

export type ReplicationLimits = { readonly [K in keyof typeof REPLICATION_LIMITS]: number };
